/**
 * Errors in consume(): the failing partition is paused and retried from its
 * first unprocessed offset with backoff while other partitions keep flowing;
 * the consumer sees `attempt`. With a dead-letter topic, the failing message
 * (found from the error, or by re-running the batch one message at a time)
 * is produced there with its origin in headers after maxRetries, the offset
 * moves past it only after Kafka acknowledged that write, and processing
 * continues. A failing dead-letter write keeps the partition paused and is
 * retried until it succeeds. Every test counts ids.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { DLQ_HEADERS } from '../../src/main/dead-letter.ts';
import { commitsVsLogEnd, createTopic, kafka, produceIds, readTopic, unique, waitFor } from '../helpers/kafka.ts';
import { FAULTY_BOOT, idStats, messageRecords, startServer, tempFile } from '../helpers/app.ts';
import type { FaultyPayload } from '../fixtures/faulty-consumer.ts';

const { ConfigResourceTypes } = kafkajs;

function faultyValue(faults: Record<number, Omit<FaultyPayload, 'id'>>) {
  return (id: number) => JSON.stringify({ id, ...faults[id] });
}

async function committed(group: string, topic: string): Promise<Map<number, number>> {
  const rows = await commitsVsLogEnd(group, topic);
  return new Map(rows.map((r) => [r.partition, r.committed ?? -1]));
}

function env(topic: string, group: string, extra: Record<string, string> = {}) {
  return { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: group, PARTITA_TEST_OUT: tempFile('records.jsonl'), PARTITA_TEST_MARKERS: tempFile('markers'), PARTITA_TEST_DLQ: '', PARTITA_TEST_TIMEOUT_MS: '', ...extra };
}

test('a failing partition retries with backoff from its first unprocessed offset; the others keep flowing', { timeout: 90_000 }, async () => {
  const topic = unique('retry');
  const group = unique('retry-group');
  await createTopic(topic, 4);
  // id 7 fails 3 times before it succeeds.
  const produced = await produceIds(topic, 0, 2000, { value: faultyValue({ 7: { fail: 'throw', times: 3 } }) });
  const e = env(topic, group);
  const server = await startServer(FAULTY_BOOT, 'retry', e);
  try {
    await waitFor(() => idStats(messageRecords(e.PARTITA_TEST_OUT)).distinct.size >= 2000, 'all ids', 60_000);
  } finally {
    await server.stop();
  }
  const records = messageRecords(e.PARTITA_TEST_OUT);
  assert.deepEqual([...idStats(records).distinct].sort((a, b) => a - b), produced, 'nothing skipped');
  const seven = records.find((r) => r.id === 7)!;
  assert.equal(seven.attempt, 4, 'the consumer saw attempt 4 when it finally succeeded');
  const retried = records.filter((r) => r.p === seven.p && r.attempt! > 1);
  assert.ok(retried.every((r) => r.o! >= records.filter((x) => x.p === seven.p && x.attempt === 1 && x.o! < seven.o!).reduce((m, x) => Math.max(m, x.o!), -1)), 'retries start after what was processed');
  const others = records.filter((r) => r.p !== seven.p);
  assert.ok(others.some((r) => r.at! < seven.at!), 'other partitions progressed while id 7 was being retried');
  const ends = await committed(group, topic);
  assert.equal([...ends.values()].reduce((a, b) => a + b, 0), 2000, 'everything committed at the end');
});

test('dead letter: a poison message is found by isolation, moved aside with its origin in headers, and the partition continues', { timeout: 90_000 }, async () => {
  const topic = unique('dlq');
  const dlq = `${topic}.dlq`;
  const group = unique('dlq-group');
  await createTopic(topic, 1);
  await createTopic(dlq, 1);
  const produced = await produceIds(topic, 0, 60, { value: faultyValue({ 20: { fail: 'throw' }, 45: { fail: 'offset' } }), perSend: 60 });
  const e = env(topic, group, { PARTITA_TEST_DLQ: dlq, PARTITA_TEST_MAX_RETRIES: '2' });
  const server = await startServer(FAULTY_BOOT, 'dlq', e);
  let dead;
  try {
    dead = await readTopic(dlq, 2, 60_000);
    await waitFor(() => messageRecords(e.PARTITA_TEST_OUT).length >= 58, 'the 58 good ids', 30_000);
    await waitFor(async () => (await committed(group, topic)).get(0) === 60, 'committed past both poison messages', 10_000);
  } finally {
    await server.stop();
  }
  assert.deepEqual(dead.map((d) => d.key).sort(), ['20', '45'], 'exactly the poison messages, nothing else');
  const byKey = new Map(dead.map((d) => [d.key, d]));
  const isolated = byKey.get('20')!;
  assert.deepEqual(JSON.parse(isolated.value!), { id: 20, fail: 'throw' }, 'payload unchanged');
  assert.equal(isolated.headers[DLQ_HEADERS.topic], topic);
  assert.equal(isolated.headers[DLQ_HEADERS.partition], '0');
  assert.equal(isolated.headers[DLQ_HEADERS.offset], '20');
  assert.equal(isolated.headers[DLQ_HEADERS.key], '20');
  assert.equal(isolated.headers[DLQ_HEADERS.group], group);
  assert.equal(isolated.headers[DLQ_HEADERS.errorClass], 'Error');
  assert.equal(isolated.headers[DLQ_HEADERS.errorMessage], 'poison 20');
  assert.equal(isolated.headers[DLQ_HEADERS.attempts], '3', 'maxRetries 2 → tried 3 times alone');
  assert.ok(Date.now() - Date.parse(isolated.headers[DLQ_HEADERS.failedAt]!) < 120_000);
  assert.equal(byKey.get('45')!.headers[DLQ_HEADERS.offset], '45', 'an error carrying its offset names the message directly');
  const ids = [...idStats(messageRecords(e.PARTITA_TEST_OUT)).distinct].sort((a, b) => a - b);
  assert.deepEqual(ids, produced.filter((id) => id !== 20 && id !== 45));
});

test('dead letter: malformed payloads go straight to the DLQ; maxRetries 0 dead-letters at the first failure', { timeout: 90_000 }, async () => {
  const topic = unique('dlq-zero');
  const dlq = `${topic}.dlq`;
  const group = unique('dlq-zero-group');
  await createTopic(topic, 1);
  await createTopic(dlq, 1);
  await produceIds(topic, 0, 10, { value: faultyValue({ 3: { fail: 'offset' } }) });
  const producer = kafka().producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ key: 'malformed', value: '{"id": 10, oops' }] });
  await producer.disconnect();
  await produceIds(topic, 11, 5);
  const e = env(topic, group, { PARTITA_TEST_DLQ: dlq, PARTITA_TEST_MAX_RETRIES: '0' });
  const server = await startServer(FAULTY_BOOT, 'dlq-zero', e);
  let dead;
  try {
    dead = await readTopic(dlq, 2, 60_000);
    await waitFor(() => messageRecords(e.PARTITA_TEST_OUT).length >= 14, 'the good ids', 30_000);
  } finally {
    await server.stop();
  }
  const byKey = new Map(dead.map((d) => [d.key, d]));
  assert.deepEqual([...byKey.keys()].sort(), ['3', 'malformed']);
  assert.equal(byKey.get('3')!.headers[DLQ_HEADERS.attempts], '1');
  assert.equal(byKey.get('malformed')!.headers[DLQ_HEADERS.errorCode], 'PAYLOAD_INVALID');
  assert.equal(byKey.get('malformed')!.headers[DLQ_HEADERS.errorClass], 'PayloadError');
  assert.equal(byKey.get('malformed')!.value, '{"id": 10, oops', 'raw bytes kept');
  assert.equal(messageRecords(e.PARTITA_TEST_OUT).length, 14);
});

test('dead letter: when the DLQ write fails the partition stays paused (nothing skipped) and the write is retried until it lands', { timeout: 120_000 }, async () => {
  const topic = unique('dlq-down');
  const dlq = `${topic}.dlq`;
  const group = unique('dlq-down-group');
  await createTopic(topic, 1);
  const admin = kafka().admin();
  await admin.connect();
  // Every dead-letter record (value + origin headers) is larger than 64 bytes: writes fail with RECORD_TOO_LARGE.
  await admin.createTopics({ topics: [{ topic: dlq, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: '64' }] }] });
  const produced = await produceIds(topic, 0, 30, { value: faultyValue({ 10: { fail: 'offset' } }), perSend: 30 });
  const e = env(topic, group, { PARTITA_TEST_DLQ: dlq, PARTITA_TEST_MAX_RETRIES: '0' });
  const server = await startServer(FAULTY_BOOT, 'dlq-down', e);
  try {
    await waitFor(() => server.status().groups[0]?.partitions[0]?.retrying === true, 'the poison message failed', 30_000);
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(messageRecords(e.PARTITA_TEST_OUT).filter((r) => r.id! > 10).length, 0, 'nothing after the poison message while its DLQ write fails');
    assert.ok(((await committed(group, topic)).get(0) ?? 0) <= 10, 'commit not past the poison message');
    assert.equal(server.status().groups[0]!.partitions[0]!.retrying, true, 'still paused, still retrying the write');
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: dlq, configEntries: [{ name: 'max.message.bytes', value: '1048588' }] }] });
    const dead = await readTopic(dlq, 1, 60_000);
    assert.equal(dead[0]!.key, '10');
    await waitFor(() => messageRecords(e.PARTITA_TEST_OUT).length >= 29, 'the rest after the write landed', 30_000);
  } finally {
    await admin.disconnect();
    await server.stop();
  }
  assert.deepEqual([...idStats(messageRecords(e.PARTITA_TEST_OUT)).distinct].sort((a, b) => a - b), produced.filter((id) => id !== 10));
});
