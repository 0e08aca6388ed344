/**
 * Captures a real Fetch record set from the broker as a test fixture for the
 * record-set decoder (test/unit/record-set-fixture.test.ts), so the decoder is
 * held against bytes Kafka wrote, not only against batches built from the spec:
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 npx tsx scripts/capture-fetch-fixture.ts
 *
 * One partition receives: plain batches (with headers), a gzip batch, a
 * committed and an aborted transaction (with their control batches). The raw
 * record set of the first fetch (taken through the Fetch hook) goes to
 * test/fixtures/fetch/mixed.bin; what kafkajs's own decoding delivers, and
 * the aborted-transaction list the broker sent, go to mixed.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { installRawFetch, rawFetches, rawRecordsOf } from '../src/kafka/raw-fetch.ts';

const { Kafka, CompressionTypes, logLevel } = kafkajs;
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const kafka = new Kafka({ clientId: 'capture', brokers, logLevel: logLevel.NOTHING });
const topic = `fixture-${Date.now().toString(36)}`;
const out = join(import.meta.dirname, '..', 'test', 'fixtures', 'fetch');

interface Expected {
  offset: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

async function produce(): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const plain = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const tx = kafka.producer({ transactionalId: `${topic}-tx`, idempotent: true, maxInFlightRequests: 1 });
  await plain.connect();
  await tx.connect();
  const msgs = (from: number, n: number, prefix = 'v') => Array.from({ length: n }, (_, i) => ({ key: String(from + i), value: `${prefix}${from + i}`, headers: (from + i) % 3 === 0 ? { trace: `t${from + i}`, tag: ['a', 'b'] } : undefined }));
  await plain.send({ topic, messages: msgs(0, 20) });
  await plain.send({ topic, messages: [{ key: null, value: null }, { key: 'k', value: '' }] });
  await plain.send({ topic, compression: CompressionTypes.GZIP, messages: msgs(100, 30) });
  const committed = await tx.transaction();
  await committed.send({ topic, messages: msgs(200, 10) });
  await committed.commit();
  const aborted = await tx.transaction();
  await aborted.send({ topic, messages: msgs(300, 10, 'aborted') });
  await aborted.abort();
  await plain.send({ topic, messages: msgs(400, 5) });
  await plain.disconnect();
  await tx.disconnect();
}

/** What kafkajs's own decoding delivers (read_committed, its default). */
async function plainRead(total: number): Promise<Expected[]> {
  const consumer = kafka.consumer({ groupId: `${topic}-plain` });
  const seen: Expected[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message: m }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = Array.isArray(v) ? v.map(String).join(',') : String(v);
      seen.push({ offset: Number(m.offset), key: m.key?.toString() ?? null, value: m.value?.toString() ?? null, headers });
    },
  });
  while (seen.length < total) await new Promise((r) => setTimeout(r, 100));
  await consumer.disconnect();
  return seen;
}

async function rawRead(): Promise<{ bytes: Buffer; aborted: Array<{ producerId: string; firstOffset: number }> }> {
  installRawFetch();
  const consumer = kafka.consumer({ groupId: `${topic}-raw`, maxWaitTimeInMs: 1000 });
  let captured: { bytes: Buffer; aborted: Array<{ producerId: string; firstOffset: number }> } | undefined;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await rawFetches.run(true, () =>
    consumer.run({
      eachBatch: async ({ batch }) => {
        const raw = rawRecordsOf((batch as unknown as { rawMessages: unknown[] }).rawMessages);
        if (raw && !captured) captured = { bytes: Buffer.from(raw.bytes), aborted: raw.abortedTransactions.map((a) => ({ producerId: String(a.producerId), firstOffset: a.firstOffset })) };
      },
    }),
  );
  while (!captured) await new Promise((r) => setTimeout(r, 100));
  await consumer.disconnect();
  return captured;
}

await produce();
const expected = await plainRead(20 + 2 + 30 + 10 + 5);
const { bytes, aborted } = await rawRead();
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'mixed.bin'), bytes);
writeFileSync(join(out, 'mixed.json'), `${JSON.stringify({ capturedWith: `Kafka at ${brokers.join(',')}, kafkajs 2.2.4`, aborted, expected }, null, 1)}\n`);
console.log(`captured ${bytes.length} bytes, ${expected.length} records, ${aborted.length} aborted transaction(s) to ${out}`);
