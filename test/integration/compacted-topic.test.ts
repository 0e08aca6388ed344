/**
 * A compacted topic: after Kafka's log cleaner ran, the log has offset gaps
 * (records superseded by a later one with the same key are gone, their
 * offsets with them) and record batches whose records no longer start at the
 * batch's base offset or end at its last offset. Partita must deliver exactly
 * what the broker kept — the same offsets raw kafkajs reads — once each, and
 * commit to the log end, past the gaps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTopic, kafka, unique, waitFor } from '../helpers/kafka.ts';
import { consumeAll, idStats } from '../helpers/app.ts';

const KEYS = 30;

/** Reads every record up to the log end with raw kafkajs (the reference): partition → offset → id. */
async function readToLogEnd(topic: string): Promise<Map<number, Map<number, number>>> {
  const admin = kafka().admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const out = new Map<number, Map<number, number>>(ends.map((e) => [e.partition, new Map()]));
  const consumer = kafka().consumer({ groupId: unique('compacted-reader'), sessionTimeout: 10_000, heartbeatInterval: 1000 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        out.get(partition)!.set(Number(message.offset), (JSON.parse(message.value!.toString()) as { id: number }).id);
      },
    });
    // The last record of a partition is in its active segment, which the cleaner never touches.
    await waitFor(() => ends.every((e) => Number(e.high) === 0 || out.get(e.partition)!.has(Number(e.high) - 1)), `${topic} read to the log end`, 30_000);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

const count = (m: Map<number, Map<number, number>>) => [...m.values()].reduce((a, p) => a + p.size, 0);

test('compacted topic with offset gaps: exactly the records the broker kept, once each, commits past the gaps', { timeout: 240_000 }, async () => {
  const topic = unique('compacted');
  const group = unique('compacted-group');
  await createTopic(topic, 2);
  const admin = kafka().admin();
  await admin.connect();
  try {
    // Short segments and an eager cleaner: every segment but the active one gets compacted within seconds.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: 2 /* TOPIC */, name: topic, configEntries: [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'segment.ms', value: '100' },
        { name: 'min.cleanable.dirty.ratio', value: '0.01' },
        { name: 'min.compaction.lag.ms', value: '0' },
      ] }],
    });
  } finally {
    await admin.disconnect();
  }
  const producer = kafka().producer();
  await producer.connect();
  let produced = 0;
  const newest = new Map<string, number>();
  try {
    // Rounds ~250 ms apart: each round's first append rolls a new segment (segment.ms 100), so the earlier rounds become cleanable.
    for (let round = 0; round < 5; round++) {
      for (let send = 0; send < 3; send++) {
        const messages = [];
        for (let i = 0; i < 100; i++, produced++) {
          // Every other record has a key of its own (kept), the rest share KEYS keys (only the newest kept): gaps between survivors.
          const key = produced % 2 === 0 ? `k${(produced / 2) % KEYS}` : `u${produced}`;
          newest.set(key, produced);
          messages.push({ key, value: JSON.stringify({ id: produced }) });
        }
        await producer.send({ topic, messages, acks: -1 });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    // The last append rolls the last segment: everything before it becomes cleanable.
    const roll = [0, 1].map((i) => ({ key: `roll-${i}`, value: JSON.stringify({ id: produced }), id: produced++ }));
    for (const r of roll) newest.set(r.key, r.id);
    await producer.send({ topic, messages: roll.map(({ key, value }) => ({ key, value })), acks: -1 });
  } finally {
    await producer.disconnect();
  }

  // Wait until the cleaner is done: the log holds exactly the newest record of every key. Until then a
  // read sees it part-cleaned (cleaning runs in passes), and the log would change under the consumer.
  const survivors = [...newest.values()].sort((a, b) => a - b);
  const idsOf = (m: Map<number, Map<number, number>>) => [...m.values()].flatMap((p) => [...p.values()]).sort((a, b) => a - b);
  let reference = await readToLogEnd(topic);
  const deadline = Date.now() + 120_000;
  while (idsOf(reference).join() !== survivors.join() && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2000));
    reference = await readToLogEnd(topic);
  }
  assert.deepEqual(idsOf(reference), survivors, `the log cleaner compacted the topic to the newest record per key (${count(reference)} of ${produced} records read)`);
  const gaps = [...reference.values()].some((p) => {
    const offsets = [...p.keys()].sort((a, b) => a - b);
    return offsets.some((o, i) => i > 0 && o - offsets[i - 1]! > 1);
  });
  assert.ok(gaps, 'the compacted log has offset gaps');

  const records = await consumeAll({ tag: 'compacted', topic, group, expected: survivors.length });
  const { distinct, duplicates } = idStats(records);
  assert.equal(duplicates, 0, 'nothing delivered twice');
  assert.deepEqual([...distinct].sort((a, b) => a - b), survivors, 'exactly the records the broker kept');
  for (const r of records) assert.equal(reference.get(r.p)?.get(r.o!), r.id, `offset ${r.p}/${r.o} carries the id kafkajs read there`);
});
