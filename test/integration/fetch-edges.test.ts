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
import { createTopic, produceIds, unique } from '../helpers/kafka.ts';
import { consumeAll, idStats } from '../helpers/app.ts';

test('fetches cut inside record batches (tiny maxBytesPerPartition): every id exactly once, commits at the log end', { timeout: 120_000 }, async () => {
  const topic = unique('fetch-edges');
  const group = unique('fetch-edges-group');
  await createTopic(topic, 3);
  // ~100 records of ~25 bytes per send: record batches of a few KB, larger than half the fetch limit.
  const produced = await produceIds(topic, 0, 6000, { perSend: 100 });
  const records = await consumeAll({ tag: 'fetch-edges', topic, group, expected: produced.length, env: { PARTITA_TEST_MAX_BYTES: '3000' } });
  const { distinct, duplicates } = idStats(records);
  assert.equal(duplicates, 0, 'nothing delivered twice');
  assert.deepEqual([...distinct].sort((a, b) => a - b), produced);
});
