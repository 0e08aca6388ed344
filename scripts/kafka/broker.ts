/**
 * A real Apache Kafka (KRaft) on this machine, on demand: resolves the broker
 * jars from Maven Central into a cache outside the repo, formats storage and
 * starts 1 or 3 combined broker+controller nodes on 127.0.0.1.
 *
 * Used by `npm run kafka:*`, the test runner, the demo and the benchmarks.
 * Processes are tracked by pid files (and checked against their command line
 * before a signal is sent), never found by process name.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

/**
 * Newest Kafka whose broker AND tools artifacts are on Maven Central and that
 * kafkajs 2.2.4 talks to (proved by test/integration/toolchain.test.ts).
 * 4.4.0's kafka-tools artifacts are missing from Central, so 4.3.1.
 */
export const KAFKA_VERSION = process.env.PARTITA_KAFKA_VERSION ?? '4.3.1';
export const DEFAULT_PORT = 9092;

const here = dirname(fileURLToPath(import.meta.url));

export class KafkaSetupError extends Error {
  constructor(
    readonly code:
      | 'JAVA_NOT_FOUND'
      | 'JAVA_TOO_OLD'
      | 'MAVEN_NOT_FOUND'
      | 'MAVEN_FAILED'
      | 'PORT_IN_USE'
      | 'BROKER_START_FAILED'
      | 'BROKER_START_TIMEOUT',
    message: string,
  ) {
    super(message);
    this.name = 'KafkaSetupError';
  }
}

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

export function cacheRoot(): string {
  return process.env.PARTITA_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'partita');
}

export function libsDir(version = KAFKA_VERSION): string {
  return join(cacheRoot(), `kafka-${version}`, 'libs');
}

function clusterDir(port: number, nodes: number): string {
  return join(cacheRoot(), 'clusters', `${nodes}x-${port}`);
}

function nodeDir(dir: string, index: number): string {
  return join(dir, `node-${index}`);
}

function ports(port: number, nodes: number): { broker: number[]; controller: number[] } {
  const idx = [...Array(nodes).keys()];
  return { broker: idx.map((i) => port + i), controller: idx.map((i) => port + 100 + i) };
}

/** Checks Java 17+ is on PATH (the Kafka 4 broker needs it). */
export function checkJava(): void {
  const res = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (res.error) {
    throw new KafkaSetupError('JAVA_NOT_FOUND', 'java was not found on PATH. Kafka 4 needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless).');
  }
  const text = `${res.stderr}${res.stdout}`;
  const m = /version "(\d+)(?:\.(\d+))?/.exec(text);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : 0;
  if (major < 17) {
    throw new KafkaSetupError('JAVA_TOO_OLD', `Kafka ${KAFKA_VERSION} needs Java 17 or newer; found: ${text.split('\n')[0] ?? 'unknown'}`);
  }
}

/**
 * Returns the directory of the broker + tools jars, resolving them with Maven
 * the first time. A marker file makes a half-finished download count as absent.
 */
export function ensureKafkaLibs(log: (line: string) => void = () => {}): string {
  const libs = libsDir();
  if (existsSync(join(libs, '.complete'))) return libs;
  const mvn = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (mvn.error) {
    throw new KafkaSetupError('MAVEN_NOT_FOUND', 'mvn was not found on PATH; it resolves the Kafka broker from Maven Central (Debian: apt-get install maven).');
  }
  log(`resolving Apache Kafka ${KAFKA_VERSION} from Maven Central into ${libs} ...`);
  const tmp = `${libs}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const res = spawnSync(
    'mvn',
    ['-B', '-q', '-f', join(here, 'pom.xml'), 'dependency:copy-dependencies', `-Dkafka.version=${KAFKA_VERSION}`, `-DoutputDirectory=${tmp}`, '-DincludeScope=runtime'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (res.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    const tail = `${res.stdout}${res.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new KafkaSetupError('MAVEN_FAILED', `mvn could not resolve Kafka ${KAFKA_VERSION}:\n${tail}`);
  }
  writeFileSync(join(tmp, '.complete'), `${KAFKA_VERSION}\n`);
  rmSync(libs, { recursive: true, force: true });
  mkdirSync(dirname(libs), { recursive: true });
  renameSync(tmp, libs);
  return libs;
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True when pid is alive AND is the broker started with this properties file (pids get reused). */
function isOurBroker(pid: number, propsFile: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(propsFile);
  } catch {
    return false;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** The client settings of the first SASL user (the brokers' own identity), for kafkajs. */
function saslClient(users: Record<string, string> | undefined): { mechanism: 'plain'; username: string; password: string } | undefined {
  const first = Object.entries(users ?? {})[0];
  return first && { mechanism: 'plain', username: first[0], password: first[1] };
}

function nodeProperties(dir: string, index: number, nodes: number, port: number, saslPlainUsers?: Record<string, string>): string {
  const p = ports(port, nodes);
  const voters = p.controller.map((c, i) => `${i + 1}@127.0.0.1:${c}`).join(',');
  const rf = Math.min(3, nodes);
  const client = saslPlainUsers ? 'SASL_PLAINTEXT' : 'PLAINTEXT';
  const self = saslClient(saslPlainUsers);
  const users = Object.entries(saslPlainUsers ?? {}).map(([u, pw]) => ` user_${u}="${pw}"`).join('');
  return [
    'process.roles=broker,controller',
    `node.id=${index + 1}`,
    `controller.quorum.voters=${voters}`,
    `listeners=${client}://127.0.0.1:${p.broker[index]},CONTROLLER://127.0.0.1:${p.controller[index]}`,
    `advertised.listeners=${client}://127.0.0.1:${p.broker[index]}`,
    'controller.listener.names=CONTROLLER',
    `inter.broker.listener.name=${client}`,
    `listener.security.protocol.map=CONTROLLER:PLAINTEXT,${client}:${client}`,
    ...(self
      ? [
          'sasl.enabled.mechanisms=PLAIN',
          'sasl.mechanism.inter.broker.protocol=PLAIN',
          `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${self.username}" password="${self.password}"${users};`,
        ]
      : []),
    `log.dirs=${join(nodeDir(dir, index), 'data')}`,
    'num.partitions=1',
    `default.replication.factor=${rf}`,
    `min.insync.replicas=${nodes >= 3 ? 2 : 1}`,
    `offsets.topic.replication.factor=${rf}`,
    // Fewer offsets partitions: the coordinator is ready seconds sooner on a 2-core machine.
    'offsets.topic.num.partitions=10',
    `transaction.state.log.replication.factor=${rf}`,
    `transaction.state.log.min.isr=${nodes >= 3 ? 2 : 1}`,
    'transaction.state.log.num.partitions=4',
    // Groups form at once instead of waiting 3 s for more members (tests, demo, bench).
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    'log.retention.hours=24',
    'log.segment.bytes=268435456',
    // A killed node is fenced (and its partitions' leadership moved) in ~3 s rather than 9 s.
    'broker.heartbeat.interval.ms=500',
    'broker.session.timeout.ms=3000',
    'num.network.threads=2',
    'num.io.threads=4',
    '',
  ].join('\n');
}

/** Starts a cluster (or finds it running). Resolves once a metadata request sees every broker. */
/**
 * A KRaft cluster id: 16 random bytes, base64url (as Kafka's own Uuid). One
 * starting with '-' would be read as an option by kafka-storage (Kafka's
 * generator skips those too), which failed ~1 start in 64.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
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

/** Starts one node of an already formatted cluster (also used to bring a node back in fault tests). */
export async function startNode(o: { nodes: number; port: number; index: number; heapMb?: number | undefined }): Promise<number> {
  const dir = clusterDir(o.port, o.nodes);
  const nd = nodeDir(dir, o.index);
  const props = join(nd, 'server.properties');
  const heap = o.heapMb ?? (o.nodes > 1 ? 512 : 1024);
  const out = openSync(join(nd, 'server.log'), 'a');
  const child = spawn(
    'java',
    [
      `-Xms${Math.min(256, heap)}m`,
      `-Xmx${heap}m`,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${join(here, 'log4j2.properties')}`,
      '-cp',
      `${libsDir()}/*`,
      'kafka.Kafka',
      props,
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  if (child.pid === undefined) throw new KafkaSetupError('BROKER_START_FAILED', `could not spawn java for node ${o.index + 1}`);
  child.unref();
  writeFileSync(join(nd, 'broker.pid'), String(child.pid));
  return child.pid;
}

async function waitForBrokers(brokers: string[], nodes: number, dir: string, timeoutMs: number, sasl?: ReturnType<typeof saslClient>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const kafka = new Kafka({ clientId: 'partita-kafka-script', brokers, sasl, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 });
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    for (let i = 0; i < nodes; i++) {
      const nd = nodeDir(dir, i);
      const pid = readPid(join(nd, 'broker.pid'));
      if (pid === undefined || !isOurBroker(pid, join(nd, 'server.properties'))) {
        throw new KafkaSetupError('BROKER_START_FAILED', `Kafka node ${i + 1} exited during startup. Last lines of ${join(nd, 'server.log')}:\n${tail(join(nd, 'server.log'))}`);
      }
    }
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length >= nodes) return;
      lastError = `${cluster.brokers.length}/${nodes} brokers registered`;
    } catch (err) {
      lastError = (err as Error).message;
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await sleep(250);
  }
  throw new KafkaSetupError(
    'BROKER_START_TIMEOUT',
    `Kafka did not answer a metadata request within ${timeoutMs} ms (${lastError}). Last lines of ${join(nodeDir(dir, 0), 'server.log')}:\n${tail(join(nodeDir(dir, 0), 'server.log'))}`,
  );
}

export interface ClusterStatus {
  /** Indexes of the nodes that are running. */
  running: number[];
  pids: Record<number, number>;
  bootstrap: string;
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

/** Stops one node: SIGTERM (controlled shutdown), SIGKILL after the grace period, or SIGKILL at once. */
export async function stopNode(o: { nodes: number; port: number; index: number; kill?: boolean; graceMs?: number }): Promise<boolean> {
  const nd = nodeDir(clusterDir(o.port, o.nodes), o.index);
  const pidFile = join(nd, 'broker.pid');
  const pid = readPid(pidFile);
  if (pid === undefined || !isOurBroker(pid, join(nd, 'server.properties'))) {
    rmSync(pidFile, { force: true });
    return false;
  }
  process.kill(pid, o.kill ? 'SIGKILL' : 'SIGTERM');
  const deadline = Date.now() + (o.graceMs ?? 30_000);
  while (isOurBroker(pid, join(nd, 'server.properties'))) {
    if (Date.now() > deadline) process.kill(pid, 'SIGKILL');
    await sleep(100);
  }
  rmSync(pidFile, { force: true });
  return true;
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
