/**
 * A cluster of 1 or 3 combined broker+controller nodes on 127.0.0.1: start
 * it (or find it running, or bring back its missing nodes), ask which nodes
 * run, stop it, list the clusters started here; and the brokers a script
 * should use (KAFKA_BROKERS, else a local cluster started on demand).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KafkaSetupError } from './errors.ts';
import { checkJava } from './java.ts';
import { cacheRoot, clusterDir, DEFAULT_PORT, nodeDir, ports } from './layout.ts';
import { ensureKafkaLibs } from './libs.ts';
import { startNode, stopNode } from './node.ts';
import { isOurBroker, readPid } from './pids.ts';
import { newClusterId, nodeProperties, saslClient } from './properties.ts';
import { waitForBrokers } from './readiness.ts';
import { KAFKA_VERSION } from './version.ts';

const here = dirname(fileURLToPath(import.meta.url));

export interface ClusterOptions {
  /** 1 (default) or 3 nodes; each node is broker and controller. */
  nodes?: number;
  /** First node's client port; node i uses port + i. Controllers use port + 100 + i. */
  port?: number;
  /** Wipe the cluster's data before starting (tests start from nothing). */
  fresh?: boolean;
  /** JVM heap per node in MiB. */
  heapMb?: number;
  /** How long to wait for the cluster to answer metadata requests. */
  timeoutMs?: number;
  /**
   * Clients must log in: the client listener is SASL_PLAINTEXT (mechanism
   * PLAIN) accepting these users (name → password). The first user is also
   * the brokers' own identity (inter-broker traffic, the readiness check).
   * Controllers stay PLAINTEXT.
   */
  saslPlainUsers?: Record<string, string>;
  log?: (line: string) => void;
}

export interface ClusterInfo {
  bootstrap: string;
  brokers: string[];
  dir: string;
  /** false when it was already running (nothing was started). */
  started: boolean;
}

export interface ClusterStatus {
  /** Indexes of the nodes that are running. */
  running: number[];
  pids: Record<number, number>;
  bootstrap: string;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * The brokers to use: KAFKA_BROKERS when set, else a local single-node
 * cluster started (or found running) here; `started` says whether this call
 * started it (so the caller stops it). Sets KAFKA_BROKERS for child processes.
 */
export async function brokersFromEnvOrLocal(log: (line: string) => void): Promise<{ brokers: string[]; started: boolean }> {
  let started = false;
  if (!process.env.KAFKA_BROKERS) {
    log('KAFKA_BROKERS is not set: starting a local Kafka (the first run downloads it with Maven) ...');
    const info = await startCluster({ log: (l) => log(`  ${l}`) });
    started = info.started;
    process.env.KAFKA_BROKERS = info.bootstrap;
  }
  return { brokers: process.env.KAFKA_BROKERS.split(','), started };
}

/** Starts a cluster (or finds it running). Resolves once a metadata request sees every broker. */
export async function startCluster(opts: ClusterOptions = {}): Promise<ClusterInfo> {
  const nodes = opts.nodes ?? 1;
  const port = opts.port ?? DEFAULT_PORT;
  const log = opts.log ?? (() => {});
  const dir = clusterDir(port, nodes);
  const p = ports(port, nodes);
  const brokers = p.broker.map((b) => `127.0.0.1:${b}`);
  const info = { bootstrap: brokers.join(','), brokers, dir };

  const status = clusterStatus({ nodes, port });
  if (status.running.length === nodes) {
    return { ...info, started: false };
  }
  if (status.running.length > 0) {
    // A partial cluster (one node was stopped by a fault test): start only the missing nodes.
    for (let i = 0; i < nodes; i++) if (!status.running.includes(i)) await startNode({ nodes, port, index: i, heapMb: opts.heapMb });
    await waitForBrokers(brokers, nodes, dir, opts.timeoutMs ?? 120_000, saslClient(opts.saslPlainUsers));
    return { ...info, started: true };
  }

  checkJava();
  const libs = ensureKafkaLibs(log);
  for (const port of [...p.broker, ...p.controller]) {
    if (!(await portFree(port))) {
      throw new KafkaSetupError('PORT_IN_USE', `port ${port} on 127.0.0.1 is in use by another process (not a broker this script started). Stop it, or pick another port with --port / PARTITA_KAFKA_PORT.`);
    }
  }
  if (opts.fresh) rmSync(dir, { recursive: true, force: true });
  const clusterIdFile = join(dir, 'cluster.id');
  mkdirSync(dir, { recursive: true });
  if (!existsSync(clusterIdFile) || readFileSync(clusterIdFile, 'utf8').startsWith('-')) writeFileSync(clusterIdFile, newClusterId());
  const clusterId = readFileSync(clusterIdFile, 'utf8').trim();

  for (let i = 0; i < nodes; i++) {
    const nd = nodeDir(dir, i);
    mkdirSync(nd, { recursive: true });
    const props = join(nd, 'server.properties');
    writeFileSync(props, nodeProperties(dir, i, nodes, port, opts.saslPlainUsers));
    if (!existsSync(join(nd, 'data', 'meta.properties'))) {
      const res = spawnSync('java', ['-cp', `${libs}/*`, `-Dlog4j2.configurationFile=${join(here, 'log4j2.properties')}`, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props, '--ignore-formatted'], { encoding: 'utf8' });
      if (res.status !== 0) {
        throw new KafkaSetupError('BROKER_START_FAILED', `formatting KRaft storage of node ${i + 1} failed:\n${`${res.stdout}${res.stderr}`.trim().split('\n').slice(-20).join('\n')}`);
      }
    }
  }
  for (let i = 0; i < nodes; i++) await startNode({ nodes, port, index: i, heapMb: opts.heapMb });
  log(`starting Kafka ${KAFKA_VERSION} (${nodes} node${nodes > 1 ? 's' : ''}) on ${info.bootstrap} ...`);
  await waitForBrokers(brokers, nodes, dir, opts.timeoutMs ?? 120_000, saslClient(opts.saslPlainUsers));
  return { ...info, started: true };
}

export function clusterStatus(o: { nodes?: number; port?: number } = {}): ClusterStatus {
  const nodes = o.nodes ?? 1;
  const port = o.port ?? DEFAULT_PORT;
  const dir = clusterDir(port, nodes);
  const running: number[] = [];
  const pids: Record<number, number> = {};
  for (let i = 0; i < nodes; i++) {
    const nd = nodeDir(dir, i);
    const pid = readPid(join(nd, 'broker.pid'));
    if (pid !== undefined && isOurBroker(pid, join(nd, 'server.properties'))) {
      running.push(i);
      pids[i] = pid;
    }
  }
  return { running, pids, bootstrap: ports(port, nodes).broker.map((b) => `127.0.0.1:${b}`).join(',') };
}

export async function stopCluster(o: { nodes?: number; port?: number } = {}): Promise<number> {
  const nodes = o.nodes ?? 1;
  const port = o.port ?? DEFAULT_PORT;
  // Stop brokers in parallel: a lone surviving controller would otherwise wait for quorum.
  const stopped = await Promise.all([...Array(nodes).keys()].map((index) => stopNode({ nodes, port, index })));
  return stopped.filter(Boolean).length;
}

/** Lists every cluster directory with a live node (for `kafka:status` without arguments). */
export function knownClusters(): Array<{ nodes: number; port: number }> {
  const root = join(cacheRoot(), 'clusters');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => /^(\d+)x-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ nodes: Number(m[1]), port: Number(m[2]) }));
}
