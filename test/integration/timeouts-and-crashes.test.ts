/**
 * Job timeouts and worker-thread crashes. A batch past `timeoutMs` fails
 * with JOB_TIMEOUT and is retried (its consumer's `signal` aborts first; if
 * consume() does not settle within the grace period its instance is
 * replaced; a thread stuck in a synchronous loop is terminated and replaced).
 * A thread that dies (process.exit, an uncaught exception, termination) is
 * replaced by the pool and every partition pinned to it restarts from its
 * processed offset on a live thread with a fresh instance. Ids are counted:
 * nothing lost, duplicates only on the partitions of the lost thread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commitsVsLogEnd, createTopic, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { FAULTY_BOOT, idStats, messageRecords, readRecords, startServer, tempFile } from '../helpers/app.ts';
import type { Fault } from '../fixtures/faulty-consumer.ts';

async function run(name: string, opts: { partitions: number; count: number; faults: Record<number, Fault>; timeoutMs?: number; env?: Record<string, string>; during?: (server: Awaited<ReturnType<typeof startServer>>, out: string) => Promise<void> }) {
  const topic = unique(name);
  await createTopic(topic, opts.partitions);
  const produced = await produceIds(topic, 0, opts.count, { value: (id) => JSON.stringify({ id, fail: opts.faults[id] }), perSend: 50 });
  const out = tempFile('records.jsonl');
  const group = unique(`${name}-group`);
  const server = await startServer(FAULTY_BOOT, name, {
    PARTITA_TEST_TOPIC: topic,
    PARTITA_TEST_GROUP: group,
    PARTITA_TEST_OUT: out,
    PARTITA_TEST_MARKERS: tempFile('markers'),
    PARTITA_TEST_TIMEOUT_MS: opts.timeoutMs ? String(opts.timeoutMs) : '',
    PARTITA_TEST_DLQ: '',
    PARTITA_TEST_MAX_BYTES: '2048',
    ...opts.env,
  });
  try {
    await opts.during?.(server, out);
    await waitFor(() => idStats(messageRecords(out)).distinct.size >= opts.count, `all ${opts.count} ids`, 60_000);
  } finally {
    await server.stop();
  }
  const status = server.status();
  const records = messageRecords(out);
  assert.deepEqual([...idStats(records).distinct].sort((a, b) => a - b), produced, 'every id processed');
  // The graceful stop's final commit, read back from Kafka: every partition committed to its log end.
  for (const o of await commitsVsLogEnd(group, topic)) assert.equal(o.committed, o.logEnd, `partition ${o.partition} committed`);
  return { records, events: readRecords(out), status };
}

test('timeout, signal honoured: the batch fails with JOB_TIMEOUT, is retried on the same instance and succeeds', { timeout: 90_000 }, async () => {
  const { records, events } = await run('timeout-abort', { partitions: 1, count: 100, faults: { 30: 'abort' }, timeoutMs: 500 });
  assert.ok(records.find((r) => r.id === 30)!.attempt! >= 2, 'id 30 succeeded on a retry');
  assert.equal(events.filter((e) => e.e === 'initialized').length, 1, 'the instance settled within the grace period, so it was kept');
});

test('timeout, signal ignored: after the grace period the instance is replaced and the batch retried', { timeout: 90_000 }, async () => {
  const { records, events } = await run('timeout-hang', { partitions: 1, count: 100, faults: { 30: 'hang' }, timeoutMs: 500 });
  assert.ok(records.find((r) => r.id === 30)!.attempt! >= 2);
  assert.equal(events.filter((e) => e.e === 'initialized').length, 2, 'a fresh instance (initialized again)');
});

test('timeout, synchronous loop: the stuck thread is terminated and replaced; its partitions restart elsewhere', { timeout: 90_000 }, async () => {
  const { status, events } = await run('timeout-spin', { partitions: 4, count: 400, faults: { 123: 'spin' }, timeoutMs: 500 });
  assert.ok(status.threadsLost >= 1, 'a thread was replaced');
  assert.ok(events.filter((e) => e.e === 'initialized').length > 4, 'partitions of the replaced thread got fresh instances');
});

test('process.exit() and an uncaught exception in a worker: the thread is replaced, nothing is lost', { timeout: 90_000 }, async () => {
  const { status, events } = await run('worker-crash', { partitions: 4, count: 600, faults: { 100: 'exit', 400: 'stray' } });
  assert.ok(status.threadsLost >= 2, `two threads died (saw ${status.threadsLost})`);
  assert.ok(events.filter((e) => e.e === 'initialized').length > 4, 'fresh instances after the crashes');
});

test('a thread over threadMemory.oldGenerationMb dies alone (ERR_WORKER_OUT_OF_MEMORY): replaced, its batch retried, nothing lost', { timeout: 90_000 }, async () => {
  const { status, events } = await run('worker-oom', { partitions: 4, count: 400, faults: { 150: 'oom' }, env: { PARTITA_TEST_OLD_GEN_MB: '64' } });
  const hog = events.find((e) => e.e === 'try' && e.id === 150);
  assert.ok(hog?.heapMb !== undefined && hog.heapMb < 160, `the thread's heap limit came from threadMemory (${hog?.heapMb} MB)`);
  assert.ok(status.threadsLost >= 1, 'the thread that ran out of heap was replaced');
  assert.ok(events.filter((e) => e.e === 'initialized').length > 4, 'fresh instances after it');
});

test('a worker thread terminated mid-stream: duplicates only on its own partitions', { timeout: 90_000 }, async () => {
  let killed = -1;
  const { records, status } = await run('worker-kill', {
    partitions: 6,
    count: 3000,
    faults: {},
    during: async (server, out) => {
      await waitFor(() => messageRecords(out).length >= 500, '500 processed', 30_000);
      killed = Number(Object.keys(server.status().threads)[0]);
      assert.equal(await server.terminateThread(killed), true);
    },
  });
  assert.ok(status.threadsLost >= 1);
  const first = new Map<number, number>();
  let duplicates = 0;
  for (const r of records) {
    if (!first.has(r.id!)) first.set(r.id!, r.t);
    else {
      duplicates += 1;
      assert.equal(first.get(r.id!), killed, `duplicate id ${r.id} was first processed on the killed thread`);
    }
  }
  console.log(`# worker-kill: ${duplicates} duplicates, all from the terminated thread ${killed}`);
});
