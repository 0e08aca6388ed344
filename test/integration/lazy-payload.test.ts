/**
 * Lazy payloads: one malformed JSON message in a batch does not stop the
 * others when the consumer skips it by key without reading its payload; if
 * the consumer does read it, the batch fails and is retried — it is never
 * skipped silently (the committed offset stays before the bad message).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { Server, type App } from '../../src/index.ts';
import { createLogger } from '../../src/logger.ts';
import { createTopic, kafka, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { RECORDING_BOOT, idStats, messageRecords, tempFile } from '../helpers/app.ts';

async function setup(name: string, skipKey: string | undefined) {
  const topic = unique(name);
  const group = unique(`${name}-group`);
  const out = tempFile('records.jsonl');
  Object.assign(process.env, { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: group, PARTITA_TEST_OUT: out, PARTITA_TEST_SKIP_KEY: skipKey ?? '', PARTITA_TEST_DELAY_MS: '0' });
  await createTopic(topic, 1);
  const before = await produceIds(topic, 0, 50);
  const producer = kafka().producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ key: 'bad', value: '{"id": not json' }] });
  await producer.disconnect();
  const after = await produceIds(topic, 50, 50);
  const app = (await import(`${pathToFileURL(RECORDING_BOOT).href}?${name}`)).default as App;
  const server = await Server.start({ app, bootFile: RECORDING_BOOT, logger: createLogger({ level: 'silent' }) });
  return { topic, group, out, produced: [...before, ...after], server };
}

test('a malformed payload skipped by key never gets parsed; the rest of the batch is processed', { timeout: 60_000 }, async () => {
  const { out, produced, server } = await setup('lazy-skip', 'bad');
  try {
    await waitFor(() => messageRecords(out).length >= 100, 'all 100 good messages', 30_000);
  } finally {
    await server.stop();
  }
  const records = messageRecords(out);
  assert.deepEqual([...idStats(records).distinct].sort((a, b) => a - b), produced);
  assert.ok(records.every((r) => r.attempt === 1), 'no batch failed');
});

test('reading a malformed payload fails the batch, which is retried and never committed past', { timeout: 60_000 }, async () => {
  const { topic, group, out, server } = await setup('lazy-read', undefined);
  try {
    await waitFor(() => server.status().groups[0]!.partitions.some((p) => p.attempt >= 3), 'two retries', 30_000);
    await waitFor(() => server.status().groups[0]!.partitions[0]!.committedOffset === 50, 'good prefix committed', 10_000).catch(() => {});
  } finally {
    await server.stop();
  }
  assert.equal(messageRecords(out).length, 0, 'the failing batch recorded nothing');
  const admin = kafka().admin();
  await admin.connect();
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  await admin.disconnect();
  const offset = Number(committed!.partitions[0]!.offset);
  assert.ok(offset <= 50, `committed offset ${offset} is not past the malformed message at offset 50`);
});
