/**
 * Fetches that end inside a record batch: with maxBytesPerPartition smaller
 * than two of the producer's record batches, almost every Fetch response
 * carries one whole batch and the cut-off start of the next. The partial
 * batch is neither delivered nor skipped (kafkajs's fetch position stops
 * after the last whole batch; the worker-side decoder ignores the tail), so
 * every id arrives exactly once and commits reach the log end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commitsVsLogEnd, createTopic, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { RECORDING_BOOT, fatalErrors, idStats, messageRecords, startServer, tempFile } from '../helpers/app.ts';

test('fetches cut inside record batches (tiny maxBytesPerPartition): every id exactly once, commits at the log end', { timeout: 120_000 }, async () => {
  const topic = unique('fetch-edges');
  const group = unique('fetch-edges-group');
  await createTopic(topic, 3);
  // ~100 records of ~25 bytes per send: record batches of a few KB, larger than half the fetch limit.
  const produced = await produceIds(topic, 0, 6000, { perSend: 100 });
  const out = tempFile('records.jsonl');
  const fatalBefore = fatalErrors.length;
  const server = await startServer(RECORDING_BOOT, 'fetch-edges', { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: group, PARTITA_TEST_OUT: out, PARTITA_TEST_CONCURRENCY: '2', PARTITA_TEST_MAX_BYTES: '3000' });
  try {
    await waitFor(() => idStats(messageRecords(out)).distinct.size >= produced.length || fatalErrors.length > fatalBefore, `${produced.length} ids`, 90_000);
    assert.deepEqual(fatalErrors.slice(fatalBefore).map((e) => e.message), []);
    await waitFor(async () => (await commitsVsLogEnd(group, topic)).every((p) => p.committed === p.logEnd), 'commits through the log end', 30_000);
  } finally {
    await server.stop();
  }
  const { distinct, duplicates } = idStats(messageRecords(out));
  assert.equal(duplicates, 0, 'nothing delivered twice');
  assert.deepEqual([...distinct].sort((a, b) => a - b), produced);
});
