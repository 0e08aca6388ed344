/**
 * Key-level parallelism on ONE partition (`parallel: { by: 'key', max: 32 }`),
 * against the real broker: virtual partitions run concurrently, messages of a
 * key keep their order, and a process killed with SIGKILL mid-run loses
 * nothing — its replacement starts from the committed contiguous prefix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commitsVsLogEnd, createTopic, kafka, unique, waitFor } from '../helpers/kafka.ts';
import { idStats, messageRecords, startAppProcess, tempFile } from '../helpers/app.ts';
import type { RecordLine } from '../fixtures/recording-consumer.ts';

const COUNT = 3000;
const KEYS = 50;

/** COUNT messages {id} with KEYS distinct keys on a new one-partition topic. */
async function produceKeyed(topic: string): Promise<void> {
  await createTopic(topic, 1);
  const producer = kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let from = 0; from < COUNT; from += 500) {
      const messages = Array.from({ length: 500 }, (_, i) => ({ key: `k${(from + i) % KEYS}`, value: JSON.stringify({ id: from + i }) }));
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Per process, per key: offsets in increasing order (each key lives on one virtual partition). */
function assertKeyOrder(records: RecordLine[]): void {
  const byRun = new Map<string, number[]>();
  for (const r of records) {
    const k = `${r.pid}/${r.key}`;
    byRun.set(k, [...(byRun.get(k) ?? []), r.o!]);
  }
  for (const [k, offsets] of byRun) assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b), `key order within ${k}`);
}

/**
 * Runs the recording app on a new keyed topic, SIGKILLs it once 800 ids were
 * seen, restarts it, and once every id was seen checks: none lost, per-key
 * order, then `check(records)`, then committed == log end and a clean stop.
 */
async function killedAndRestarted(name: string, knobs: Record<string, string>, check: (records: RecordLine[]) => void): Promise<void> {
  const topic = unique(name);
  const group = unique(`${name}-group`);
  const out = tempFile('records.jsonl');
  await produceKeyed(topic);
  const env = { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: group, PARTITA_TEST_OUT: out, PARTITA_TEST_MAX_MESSAGES: '400', ...knobs };
  const seen = () => idStats(messageRecords(out)).distinct.size;
  let app = startAppProcess(env);
  await waitFor(() => seen() >= 800, 'a part consumed', 120_000, 50);
  app.child.kill('SIGKILL');
  await app.exited;
  app = startAppProcess(env);
  try {
    await waitFor(() => seen() >= COUNT, 'every id after the restart', 120_000, 250);
    const records = messageRecords(out);
    assert.deepEqual([...idStats(records).distinct].sort((a, b) => a - b), Array.from({ length: COUNT }, (_, i) => i), 'no id lost');
    assertKeyOrder(records);
    check(records);
    await waitFor(async () => (await commitsVsLogEnd(group, topic)).every((o) => o.committed === o.logEnd), 'committed up to the log end', 30_000, 250);
    app.child.kill('SIGTERM');
    assert.equal((await app.exited).code, 0, app.output().slice(-3000));
  } finally {
    app.child.kill('SIGKILL');
  }
}

test('one partition, 32 virtual partitions: every id, per-key order, concurrency; SIGKILL mid-run and a restart lose nothing', { timeout: 240_000 }, async () => {
  // 1 ms of async I/O per message, one worker thread: concurrency can only come from the virtual partitions.
  await killedAndRestarted('vp', { PARTITA_TEST_CONCURRENCY: '1', PARTITA_TEST_PARALLEL_MAX: '32', PARTITA_TEST_MSG_IO_MS: '1' }, (records) => {
    const vps = new Set(records.map((r) => r.vp));
    assert.ok(vps.size >= 16, `messages ran on ${vps.size} virtual partitions`);
    // Concurrency: batches of different virtual partitions overlapped in time (same batch start, different vp).
    const byBatch = new Map<string, Set<number>>();
    for (const r of records) byBatch.set(`${r.pid}/${r.bs}`, (byBatch.get(`${r.pid}/${r.bs}`) ?? new Set()).add(r.vp!));
    assert.ok([...byBatch.values()].some((s) => s.size > 1), 'virtual partitions of one batch ran together');
  });
});

/**
 * Checks for a partition spread over two threads: in each process both threads
 * ran its messages, no message ran twice (the lanes agreed on who runs what),
 * batches on the two threads overlapped in time, a virtual partition kept its
 * thread, and lanes (vp mod 2) were on distinct threads.
 */
function assertSpread(records: RecordLine[]): void {
  const ran = new Set<string>();
  for (const r of records) {
    const k = `${r.pid}/${r.o}`;
    assert.ok(!ran.has(k), `offset ${r.o} ran twice in process ${r.pid}`);
    ran.add(k);
  }
  for (const pid of new Set(records.map((r) => r.pid))) {
    const mine = records.filter((r) => r.pid === pid);
    const threads = new Set(mine.map((r) => r.t));
    assert.equal(threads.size, 2, `process ${pid}: the one partition ran on ${threads.size} threads`);
    const threadOfVp = new Map<number, Set<number>>();
    for (const r of mine) threadOfVp.set(r.vp!, (threadOfVp.get(r.vp!) ?? new Set()).add(r.t));
    for (const [vp, ts] of threadOfVp) assert.equal(ts.size, 1, `process ${pid}: virtual partition ${vp} ran on threads ${[...ts]}`);
    const laneThreads = [0, 1].map((lane) => new Set([...threadOfVp].filter(([vp]) => vp % 2 === lane).map(([, ts]) => [...ts][0])));
    assert.ok(laneThreads.every((ts) => ts.size === 1) && [...laneThreads[0]!][0] !== [...laneThreads[1]!][0], `process ${pid}: lanes on distinct threads`);
  }
  // Some batch on one thread overlapped one on the other.
  const spans = new Map<string, { t: number; from: number; to: number }>();
  for (const r of records) {
    const k = `${r.pid}/${r.i}/${r.b}`;
    const span = spans.get(k) ?? { t: r.t, from: r.bs!, to: r.at! };
    span.to = Math.max(span.to, r.at!);
    spans.set(k, span);
  }
  const all = [...spans.values()];
  assert.ok(all.some((x) => all.some((y) => x.t !== y.t && x.from < y.to && y.from < x.to)), 'batches on the two threads overlapped');
}

// 300 µs of synchronous CPU per message, 2 worker threads, 8 virtual partitions.
const CPU_ON_TWO_THREADS = { PARTITA_TEST_CONCURRENCY: '2', PARTITA_TEST_PARALLEL_MAX: '8', PARTITA_TEST_BUSY_US: '300' };

test('CPU-bound virtual partitions spread over both worker threads: each keeps its thread (lane vp mod 2), lanes overlap; SIGKILL and a restart lose nothing', { timeout: 240_000 }, async () => {
  await killedAndRestarted('vp-lanes', CPU_ON_TWO_THREADS, (records) => assertSpread(records));
});

test('balanced over both threads: both threads split each batch alike, none runs twice; SIGKILL and a restart lose nothing', { timeout: 240_000 }, async () => {
  // Balanced assigns keys per batch: both threads must compute the same split, or a message would run twice or never.
  await killedAndRestarted('vp-balanced', { ...CPU_ON_TWO_THREADS, PARTITA_TEST_PARALLEL_DISTRIBUTION: 'balanced' }, (records) => assertSpread(records));
});
