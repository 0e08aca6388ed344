/**
 * WorkerPool pinning on real worker threads (no broker needed): every task
 * of a partition key runs on the thread the key is pinned to, keys are
 * balanced across threads, the packed buffer is transferred, and consumer
 * instances persist in their thread until shutdown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendMessage, emptyRawBatch } from '../../src/messages/raw-batch.ts';
import { PoolExecutor, partitionKey } from '../../src/runtime/executors.ts';
import { WorkerPool } from '../../src/runtime/pool.ts';
import { RECORDING_BOOT, readRecords, tempFile } from '../helpers/app.ts';
import { createApp } from '../../src/index.ts';
import { RecordingConsumer } from '../fixtures/recording-consumer.ts';

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
        const raw = emptyRawBatch('t', p, 100);
        appendMessage(raw, { offset: String(round), timestamp: '0', key: null, value: Buffer.from(JSON.stringify({ id: p * 100 + round })) });
        runs.push(executor.run(route, raw, 1, round + 1).then((o) => {
          assert.equal(o.error, undefined);
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

test('a boot file that fails to load in the workers is reported by ready()', { timeout: 30_000 }, async () => {
  const pool = new WorkerPool({ bootFile: '/nonexistent/boot.ts', threads: 1 });
  try {
    await assert.rejects(pool.ready(), (err: Error & { code?: string }) => err.code === 'WORKER_FAILED' && /could not start/.test(err.message));
  } finally {
    await pool.destroy();
  }
});
