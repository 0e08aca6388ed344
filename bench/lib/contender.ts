/**
 * One contender run, in its own process (so memory and CPU are its own):
 *   tsx bench/lib/contender.ts '<ContenderSpec as JSON>'
 * Prints JSON lines on stdout: {"joined":true}, {"progress":n} and finally
 * {"result":{...}}. Throughput is measured from the group join to the commit
 * that covers the last expected message.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { loadApp, Server } from '../../src/index.ts';
import { createLogger } from '../../src/logger.ts';
import { installCodecs } from '../../src/kafka/codecs.ts';
import { cpuWork, ioWork, LatencyHistogram, nowMs, type WorkKind } from '../apps/work.ts';

export interface ContenderSpec {
  kind: 'kafkajs' | 'partita' | 'platformatic';
  backend?: 'pool' | 'inline';
  workers?: number;
  brokers: string[];
  topic: string;
  group: string;
  /** Messages to consume before the run ends. */
  expect: number;
  work: WorkKind;
  hashRounds?: number;
  prefetch?: number;
  maxBytesPerPartition?: number;
  /** Partita: virtual partitions per partition (topic option `parallel`). */
  parallel?: number;
  /** Partita: `parallel.distribution` (default consistent). */
  distribution?: 'consistent' | 'balanced';
  /** Partita: the group's maxMessages. */
  maxMessages?: number;
  timeoutMs: number;
  /** Node flags for the contender's process (bench/lib/runner.ts puts them on its command line). */
  nodeFlags?: string[];
}

export interface ContenderResult {
  messages: number;
  seconds: number;
  messagesPerSecond: number;
  peakRssBytes: number;
  /** CPU time of the contender's process (every thread) from the join to the end, per second of wall time: the cores it kept busy. */
  cores?: number;
  latencyMs?: { p50: number; p95: number; p99: number; samples: number };
}

const BOOT = new URL('../apps/bench.config.ts', import.meta.url).pathname;
/** The process's CPU time when the group was joined (every contender announces the join through emit). */
let cpuAtJoin: NodeJS.CpuUsage | undefined;
const emit = (o: { joined?: boolean } & Record<string, unknown>) => {
  if (o.joined) cpuAtJoin = process.cpuUsage();
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);

async function waitUntil(check: () => boolean, timeoutMs: number, what: string, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * A client contender's run: reports progress until the commits (partition →
 * next offset) cover `spec.expect` messages; returns the seconds since it joined.
 */
async function untilCommitted(spec: ContenderSpec, committed: Map<number, number>, consumed: () => number, joinedAt: () => number): Promise<number> {
  const progress = setInterval(() => emit({ progress: consumed() }), 250);
  try {
    await waitUntil(() => [...committed.values()].reduce((a, b) => a + b, 0) >= spec.expect, spec.timeoutMs, `${spec.expect} committed`);
  } finally {
    clearInterval(progress);
  }
  return (performance.now() - joinedAt()) / 1000;
}

async function runKafkajs(spec: ContenderSpec): Promise<ContenderResult> {
  // The codec plugins a kafkajs user registers for snappy, lz4 and zstd topics (Partita's own, native where it pays).
  installCodecs();
  const kafka = new kafkajs.Kafka({ clientId: 'bench-kafkajs', brokers: spec.brokers, logLevel: kafkajs.logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: spec.group });
  const committed = new Map<number, number>();
  const latency = new LatencyHistogram();
  let consumed = 0;
  let joinedAt = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joinedAt ||= performance.now();
    emit({ joined: true });
  });
  consumer.on(consumer.events.COMMIT_OFFSETS, (e) => {
    for (const t of e.payload.topics) for (const p of t.partitions) committed.set(Number(p.partition), Number(p.offset));
  });
  await consumer.connect();
  await consumer.subscribe({ topic: spec.topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      switch (spec.work) {
        case 'cpu':
          for (const m of batch.messages) cpuWork(m.value, spec.hashRounds ?? 0);
          break;
        case 'io':
          for (const _ of batch.messages) await ioWork();
          break;
        case 'latency': {
          const now = nowMs();
          for (const m of batch.messages) latency.add(now - Number(m.key!.toString()));
          break;
        }
        case 'none':
          break;
      }
      consumed += batch.messages.length;
    },
  });
  const seconds = await untilCommitted(spec, committed, () => consumed, () => joinedAt);
  const result = finish(consumed, seconds, spec.work === 'latency' ? latency : undefined);
  // Not awaited: kafkajs's disconnect waits for the fetch in flight, which on a drained topic is a
  // long poll of maxWaitTimeInMs (5 s by default, kept: it is the baseline's default), after the
  // measurement is over. The group is this run's own (nobody joins it again), so the process
  // emits its result and exits without waiting for the leave; the broker expires the member
  // after its session timeout.
  void consumer.disconnect().catch(() => {});
  return result;
}

/**
 * @platformatic/kafka 1.x (the last line that runs on Node 20): a pure-JS client
 * with its own protocol code, consumed as its README shows (a message stream),
 * autocommitting every 100 ms (its minimum), from the earliest offset of a new group.
 */
async function runPlatformatic(spec: ContenderSpec): Promise<ContenderResult> {
  if (spec.work === 'io') throw new Error('the platformatic contender runs pass-through, cpu and latency work only');
  const { Consumer } = await import('@platformatic/kafka');
  const consumer = new Consumer({ groupId: spec.group, clientId: 'bench-platformatic', bootstrapBrokers: spec.brokers });
  const committed = new Map<number, number>();
  const latency = new LatencyHistogram();
  let consumed = 0;
  let joinedAt = 0;
  consumer.on('consumer:group:join', () => {
    joinedAt ||= performance.now();
    emit({ joined: true });
  });
  const stream = await consumer.consume({ topics: [spec.topic], mode: 'committed', fallbackMode: 'earliest', autocommit: 100 });
  stream.on('autocommit', (err: unknown, offsets?: Array<{ partition: number; offset: bigint }>) => {
    if (!err) for (const o of offsets ?? []) committed.set(o.partition, Number(o.offset));
  });
  stream.on('data', (m: { key: Buffer | undefined; value: Buffer | undefined }) => {
    if (spec.work === 'cpu') cpuWork(m.value!, spec.hashRounds ?? 0);
    else if (spec.work === 'latency') latency.add(nowMs() - Number(m.key!.toString()));
    consumed += 1;
  });
  const seconds = await untilCommitted(spec, committed, () => consumed, () => joinedAt);
  await stream.close();
  await consumer.close();
  return finish(consumed, seconds, spec.work === 'latency' ? latency : undefined);
}

async function runPartita(spec: ContenderSpec): Promise<ContenderResult> {
  const outDir = mkdtempSync(join(tmpdir(), 'partita-bench-'));
  Object.assign(process.env, {
    BENCH_BROKERS: spec.brokers.join(','),
    BENCH_TOPIC: spec.topic,
    BENCH_GROUP: spec.group,
    BENCH_BACKEND: spec.backend ?? 'pool',
    BENCH_WORKERS: String(spec.workers ?? 1),
    BENCH_WORK: spec.work,
    BENCH_HASH_ROUNDS: String(spec.hashRounds ?? 0),
    BENCH_OUT_DIR: outDir,
    ...(spec.prefetch ? { BENCH_PREFETCH: String(spec.prefetch) } : {}),
    ...(spec.maxBytesPerPartition ? { BENCH_MAX_BYTES_PER_PARTITION: String(spec.maxBytesPerPartition) } : {}),
    ...(spec.parallel ? { BENCH_PARALLEL: String(spec.parallel) } : {}),
    ...(spec.distribution ? { BENCH_PARALLEL_DISTRIBUTION: spec.distribution } : {}),
    ...(spec.maxMessages ? { BENCH_MAX_MESSAGES: String(spec.maxMessages) } : {}),
  });
  const app = await loadApp(BOOT);
  const server = await Server.start({ app, bootFile: BOOT, logger: createLogger({ level: 'warn' }) });
  const committed = () => server.status().groups[0]!.partitions.reduce((a, p) => a + (p.committedOffset ?? 0), 0);
  await waitUntil(() => server.ready, 60_000, 'group join', 1);
  const joinedAt = performance.now();
  emit({ joined: true });
  const progress = setInterval(() => emit({ progress: server.status().processedMessages }), 250);
  try {
    await waitUntil(() => committed() >= spec.expect, spec.timeoutMs, `${spec.expect} committed`);
  } finally {
    clearInterval(progress);
  }
  const seconds = (performance.now() - joinedAt) / 1000;
  const consumed = server.status().processedMessages;
  await server.stop();
  let latency: LatencyHistogram | undefined;
  if (spec.work === 'latency') {
    latency = new LatencyHistogram();
    for (const f of readdirSync(outDir)) latency.merge(JSON.parse(readFileSync(join(outDir, f), 'utf8')) as Array<[number, number]>);
  }
  rmSync(outDir, { recursive: true, force: true });
  return finish(consumed, seconds, latency);
}

function finish(messages: number, seconds: number, latency: LatencyHistogram | undefined): ContenderResult {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  const cpu = cpuAtJoin && process.cpuUsage(cpuAtJoin);
  return {
    messages,
    seconds,
    messagesPerSecond: messages / seconds,
    peakRssBytes: peakRss,
    ...(cpu ? { cores: (cpu.user + cpu.system) / 1e6 / seconds } : {}),
    ...(latency ? { latencyMs: { p50: latency.quantile(0.5), p95: latency.quantile(0.95), p99: latency.quantile(0.99), samples: latency.n } } : {}),
  };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as ContenderSpec;
try {
  const result = spec.kind === 'kafkajs' ? await runKafkajs(spec) : spec.kind === 'platformatic' ? await runPlatformatic(spec) : await runPartita(spec);
  emit({ result });
  clearInterval(rssTimer);
  process.exit(0);
} catch (err) {
  process.stderr.write(`contender failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
}
