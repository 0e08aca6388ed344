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

const COUNT = 3000;
const KEYS = 50;

test('one partition, 32 virtual partitions: every id, per-key order, concurrency; SIGKILL mid-run and a restart lose nothing', { timeout: 240_000 }, async () => {
  const topic = unique('vp');
  const group = unique('vp-group');
  const out = tempFile('records.jsonl');
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
  // 1 ms of async I/O per message, one worker thread: concurrency can only come from the virtual partitions.
  const env = { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: group, PARTITA_TEST_OUT: out, PARTITA_TEST_CONCURRENCY: '1', PARTITA_TEST_PARALLEL_MAX: '32', PARTITA_TEST_MSG_IO_MS: '1', PARTITA_TEST_MAX_MESSAGES: '400' };
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
    // Per process, per key: offsets in increasing order (each key lives on one virtual partition).
    const byRun = new Map<string, number[]>();
    for (const r of records) {
      const k = `${r.pid}/${r.key}`;
      byRun.set(k, [...(byRun.get(k) ?? []), r.o!]);
    }
    for (const [k, offsets] of byRun) assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b), `key order within ${k}`);
    const vps = new Set(records.map((r) => r.vp));
    assert.ok(vps.size >= 16, `messages ran on ${vps.size} virtual partitions`);
    // Concurrency: batches of different virtual partitions overlapped in time (same batch start, different vp).
    const byBatch = new Map<string, Set<number>>();
    for (const r of records) byBatch.set(`${r.pid}/${r.bs}`, (byBatch.get(`${r.pid}/${r.bs}`) ?? new Set()).add(r.vp!));
    assert.ok([...byBatch.values()].some((s) => s.size > 1), 'virtual partitions of one batch ran together');
    await waitFor(async () => (await commitsVsLogEnd(group, topic)).every((o) => o.committed === o.logEnd), 'committed up to the log end', 30_000, 250);
    app.child.kill('SIGTERM');
    assert.equal((await app.exited).code, 0, app.output().slice(-3000));
  } finally {
    app.child.kill('SIGKILL');
  }
});
