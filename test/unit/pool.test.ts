/**
 * WorkerPool pinning on real worker threads (no broker needed): every task
 * of a partition key runs on the thread the key is pinned to, keys are
 * balanced across threads, the packed buffer is transferred, and consumer
 * instances persist in their thread until shutdown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendMessage, emptyRawBatch } from '../../src/protocol/batch-codec.ts';
import { batch as recordBatch, sharedRecordSet } from '../helpers/record-batches.ts';
import { PoolExecutor } from '../../src/main/dispatch/pool-executor.ts';
import { partitionKey } from '../../src/protocol/partition-id.ts';
import { WorkerPool } from '../../src/main/dispatch/worker-pool.ts';
import { RECORDING_BOOT, readRecords, tempFile } from '../helpers/app.ts';
import { createApp } from '../../src/index.ts';
import { RecordingConsumer } from '../fixtures/recording-consumer.ts';
import type { Gate } from '../../src/protocol/tasks.ts';

function openGate(): Gate {
  return { fence: new SharedArrayBuffer(4), epoch: 0 };
}

test('partitions stay pinned to one thread each, balanced, instances persist until shutdown', { timeout: 60_000 }, async () => {
  const out = tempFile('records.jsonl');
  Object.assign(process.env, { PARTITA_TEST_OUT: out, PARTITA_TEST_GROUP: 'g', PARTITA_TEST_TOPIC: 't', PARTITA_TEST_DELAY_MS: '1' });
  const route = createApp({ kafka: { brokers: ['127.0.0.1:9092'] }, routes: { g: { topics: { t: { consumer: RecordingConsumer } } } } }).route('g', 't')!;
  const pool = new WorkerPool({ bootFile: RECORDING_BOOT, threads: 2 });
  const executor = new PoolExecutor(pool, () => 5000);
  try {
    await pool.ready();
    assert.equal(pool.threadIds().length, 2);
    const threadsByPartition = new Map<number, Set<number>>();
    const runs = [];
    for (let round = 0; round < 5; round++) {
      for (let p = 0; p < 8; p++) {
        // Raw record-set bytes in shared memory, decoded by the worker (as fetched records travel).
        const bytes = sharedRecordSet(recordBatch({ baseOffset: round, records: [{ offsetDelta: 0, value: JSON.stringify({ id: p * 100 + round }) }] }));
        const records = { kind: 'raw' as const, topic: 't', partition: p, highWatermark: 100, bytes, aborted: [] };
        runs.push(executor.run(route, p, records, { from: round, to: round + 1, max: 1000, skip: [] }, 1, openGate()).then((o) => {
          assert.equal(o.error, undefined);
          assert.equal(o.messages, 1);
          assert.equal(o.commitOffset, round + 1);
          threadsByPartition.set(p, (threadsByPartition.get(p) ?? new Set()).add(o.threadId));
        }));
      }
      await Promise.all(runs); // a partition's batches go one at a time, like the scheduler sends them
    }
    for (const [p, threads] of threadsByPartition) {
      assert.equal(threads.size, 1, `partition ${p} ran on one thread`);
      assert.equal([...threads][0], pool.pinnedThread(partitionKey('g', 't', p)));
    }
    const perThread = [...pool.pinsPerThread().values()].map((keys) => keys.length);
    assert.deepEqual(perThread, [4, 4], 'balanced: 4 partitions per thread');
    const hooks = await pool.shutdownAll();
    assert.equal(hooks.reduce((n, h) => n + h.errors.length, 0), 0);
  } finally {
    await pool.destroy();
  }
  const records = readRecords(out);
  assert.equal(records.filter((r) => r.e === 'initialized').length, 8, 'one instance per partition');
  assert.equal(records.filter((r) => r.e === 'shutdown').length, 8);
  const instances = new Map<number, Set<string>>();
  for (const r of records.filter((x) => x.e === 'm')) instances.set(r.p, (instances.get(r.p) ?? new Set()).add(r.i));
  for (const [p, ids] of instances) assert.equal(ids.size, 1, `partition ${p}: one instance for all 5 batches`);
});

test('a batch fenced while it waits behind a busy thread is withdrawn there and never enters consume()', { timeout: 60_000 }, async () => {
  const out = tempFile('records.jsonl');
  // The recording consumer sleeps PARTITA_TEST_DELAY_MS per batch with a timer; a busy *thread*
  // needs a synchronous hog: many messages of a 300 ms batch on the same (only) thread.
  Object.assign(process.env, { PARTITA_TEST_OUT: out, PARTITA_TEST_GROUP: 'g', PARTITA_TEST_TOPIC: 't', PARTITA_TEST_DELAY_MS: '0', PARTITA_TEST_BUSY_MS: '300' });
  const route = createApp({ kafka: { brokers: ['127.0.0.1:9092'] }, routes: { g: { topics: { t: { consumer: RecordingConsumer } } } } }).route('g', 't')!;
  const pool = new WorkerPool({ bootFile: RECORDING_BOOT, threads: 1 });
  const executor = new PoolExecutor(pool, () => 5000);
  // Records kafkajs decoded itself (legacy formats) travel packed: this exercises that path.
  const batch = (p: number, id: number) => {
    const raw = emptyRawBatch('t', p, 100);
    appendMessage(raw, { offset: '0', timestamp: '0', key: null, value: Buffer.from(JSON.stringify({ id })) });
    return { kind: 'decoded' as const, raw };
  };
  const window = { from: 0, to: 1, max: 1000, skip: [] };
  try {
    await pool.ready();
    const busy = executor.run(route, 0, batch(0, 1), window, 1, openGate()); // occupies the thread
    const gate = openGate();
    const waiting = executor.run(route, 1, batch(1, 2), window, 1, gate); // waits behind it on the same thread
    await new Promise((r) => setTimeout(r, 50));
    Atomics.store(new Int32Array(gate.fence), 0, 1); // the partition is revoked meanwhile
    const [first, second] = await Promise.all([busy, waiting]);
    assert.equal(first.error, undefined);
    assert.equal(second.withdrawn, true, 'withdrawn');
    const ids = readRecords(out).filter((r) => r.e === 'm').map((r) => r.id);
    assert.deepEqual(ids, [1], 'the fenced batch never ran');
  } finally {
    delete process.env.PARTITA_TEST_BUSY_MS;
    await pool.destroy();
  }
});

test('a boot file that fails to load in the workers is reported by ready()', { timeout: 30_000 }, async () => {
  const pool = new WorkerPool({ bootFile: '/nonexistent/boot.ts', threads: 1 });
  try {
    await assert.rejects(pool.ready(), (err: Error & { code?: string }) => err.code === 'WORKER_FAILED' && /could not start/.test(err.message));
  } finally {
    await pool.destroy();
  }
});
