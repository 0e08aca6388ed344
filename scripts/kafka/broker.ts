/**
 * A real Apache Kafka (KRaft) on this machine, on demand: resolves the broker
 * jars from Maven Central into a cache outside the repo, formats storage and
 * starts 1 or 3 combined broker+controller nodes on 127.0.0.1.
 *
 * Used by `npm run kafka:*`, the test runner, the demo and the benchmarks.
 * Processes are tracked by pid files (and checked against their command line
 * before a signal is sent), never found by process name.
 *
 * This file is the public face only (every importer uses this path); each job
 * lives in its own file, each importing only the ones listed before it:
 *   version.ts     the Kafka version
 *   errors.ts      KafkaSetupError
 *   layout.ts      cache directory, cluster/node directories, ports
 *   java.ts        the Java 17+ check
 *   libs.ts        the broker + tools jars, resolved with Maven
 *   properties.ts  server.properties of a node, the KRaft cluster id
 *   pids.ts        pid files and "is this pid still our broker"
 *   readiness.ts   waiting until every broker answers
 *   node.ts        starting and stopping one node's process
 *   cluster.ts     starting, inspecting and stopping a cluster; brokers to use
 */
export { KAFKA_VERSION } from './version.ts';
export { KafkaSetupError } from './errors.ts';
export { cacheRoot, DEFAULT_PORT } from './layout.ts';
export { checkJava } from './java.ts';
export { ensureKafkaLibs, libsDir } from './libs.ts';
export { newClusterId } from './properties.ts';
export { startNode, stopNode } from './node.ts';
export { brokersFromEnvOrLocal, clusterStatus, knownClusters, startCluster, stopCluster } from './cluster.ts';
export type { ClusterInfo, ClusterOptions, ClusterStatus } from './cluster.ts';
