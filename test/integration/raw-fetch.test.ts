/**
 * The Fetch hook against the real broker: a kafkajs consumer run inside
 * `rawFetches` gets one placeholder per record batch plus the raw record set,
 * and kafkajs's own bookkeeping still walks the whole log (plain, gzip and
 * transactional batches with commit and abort markers, small fetches that
 * cut batches, a seek into the middle of a batch). Decoding the raw record
 * sets gives exactly what a plain kafkajs consumer sees: the same offsets
 * and values per partition, nothing of the aborted transaction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { installRawFetch, rawFetches, rawRecordsOf } from '../../src/kafka/raw-fetch.ts';
import { decompressRecords } from '../../src/protocol/compression.ts';
import { decodeRecordSet } from '../../src/protocol/record-set.ts';
import { createTopic, kafka, unique, waitFor } from '../helpers/kafka.ts';

const { CompressionTypes } = kafkajs;

type Seen = Map<number, Array<{ offset: number; value: string }>>;

async function consume(topic: string, total: number, opts: { raw: boolean; seek?: { partition: number; offset: number } }): Promise<{ seen: Seen; placeholders: number }> {
  const consumer = kafka().consumer({ groupId: unique('raw-fetch'), maxBytesPerPartition: 2048, maxWaitTimeInMs: 100 });
  const seen: Seen = new Map();
  let placeholders = 0;
  let count = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const run = () =>
    consumer.run({
      eachBatch: async ({ batch }) => {
        const list = seen.get(batch.partition) ?? [];
        seen.set(batch.partition, list);
        if (!opts.raw) {
          for (const m of batch.messages) list.push({ offset: Number(m.offset), value: m.value!.toString() });
          count += batch.messages.length;
          return;
        }
        const raw = rawRecordsOf((batch as unknown as { rawMessages: unknown[] }).rawMessages);
        assert.ok(raw, 'the raw record set hangs on the batch');
        placeholders += batch.messages.length;
        const d = decodeRecordSet(raw.bytes, { fetchOffset: Number((batch as unknown as { fetchedOffset: string }).fetchedOffset), checkCrcs: true, abortedTransactions: raw.abortedTransactions, decompress: decompressRecords });
        d.offsets.forEach((o, i) => list.push({ offset: o, value: d.values.at(i)!.toString() }));
        count += d.offsets.length;
      },
    });
  if (opts.raw) await rawFetches.run(true, run);
  else await run();
  if (opts.seek) consumer.seek({ topic, partition: opts.seek.partition, offset: String(opts.seek.offset) });
  try {
    await waitFor(() => count >= total, `${total} records (${opts.raw ? 'raw' : 'plain'})`, 30_000);
    await new Promise((r) => setTimeout(r, 500)); // nothing more arrives
  } finally {
    await consumer.disconnect();
  }
  return { seen, placeholders };
}

test('raw record sets through the Fetch hook: kafkajs walks the log on placeholders; decoding them equals what kafkajs decodes', { timeout: 120_000 }, async () => {
  installRawFetch();
  const topic = unique('raw-fetch');
  await createTopic(topic, 2);
  const producer = kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  const txProducer = kafka().producer({ transactionalId: unique('raw-fetch-tx'), idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await txProducer.connect();
  const expected = new Set<string>();
  const send = async (ids: number[], compression = CompressionTypes.None) => {
    await producer.send({ topic, compression, messages: ids.map((id) => ({ key: String(id), value: `v${id}` })) });
    for (const id of ids) expected.add(`v${id}`);
  };
  try {
    for (let i = 0; i < 10; i++) await send(Array.from({ length: 50 }, (_, k) => i * 50 + k));
    await send(Array.from({ length: 100 }, (_, k) => 500 + k), CompressionTypes.GZIP);
    const committed = await txProducer.transaction();
    await committed.send({ topic, messages: Array.from({ length: 40 }, (_, k) => ({ key: String(600 + k), value: `v${600 + k}` })) });
    await committed.commit();
    for (let k = 0; k < 40; k++) expected.add(`v${600 + k}`);
    const aborted = await txProducer.transaction();
    await aborted.send({ topic, messages: Array.from({ length: 40 }, (_, k) => ({ key: String(9000 + k), value: `aborted${k}` })) });
    await aborted.abort();
    await send(Array.from({ length: 60 }, (_, k) => 700 + k));
  } finally {
    await producer.disconnect();
    await txProducer.disconnect();
  }

  const plain = await consume(topic, expected.size, { raw: false });
  const raw = await consume(topic, expected.size, { raw: true });
  assert.ok(raw.placeholders > 0 && raw.placeholders < expected.size, `kafkajs saw batches, not records (${raw.placeholders} placeholders for ${expected.size} records)`);
  const values = (s: Seen) => [...s.values()].flat().map((r) => r.value);
  assert.deepEqual(new Set(values(raw.seen)), expected, 'every committed value, none of the aborted transaction');
  assert.equal(values(raw.seen).length, expected.size, 'each once');
  for (const [p, list] of plain.seen) assert.deepEqual(raw.seen.get(p), list, `partition ${p}: the same offsets and values as kafkajs's own decoding`);

  // A fetch that starts inside a batch (a seek to an offset in the middle of one): from there on, the same records.
  const first = plain.seen.get(0)!;
  const middle = first[Math.floor(first.length / 2)]!.offset;
  const fromMiddle = first.filter((r) => r.offset >= middle);
  const rest = [...plain.seen.get(1)!];
  const sought = await consume(topic, fromMiddle.length + rest.length, { raw: true, seek: { partition: 0, offset: middle } });
  assert.deepEqual(
    sought.seen.get(0)!.filter((r) => r.offset >= middle),
    fromMiddle,
  );
});
