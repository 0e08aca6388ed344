/**
 * Toolchain proof: kafkajs 2.2.4 against the Kafka version scripts/kafka starts.
 * A group consumes every produced id from a 4-partition topic and commits;
 * a second run of the same group resumes after the committed offsets (it sees
 * only the ids produced since, none of the first run's).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTopic, kafka, produceIds, unique, waitFor } from '../helpers/kafka.ts';

async function consumeUntil(topic: string, groupId: string, expected: number): Promise<number[]> {
  const consumer = kafka().consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  const seen: number[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary }) => {
      for (const m of batch.messages) {
        seen.push((JSON.parse(m.value!.toString()) as { id: number }).id);
        resolveOffset(m.offset);
      }
      await commitOffsetsIfNecessary();
    },
  });
  try {
    await waitFor(() => seen.length >= expected, `${expected} messages in group ${groupId}`);
    // Give a straggling duplicate a chance to show up before we judge.
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    await consumer.disconnect(); // commits resolved offsets on the way out
  }
  return seen;
}

test('a consumer group receives every message and a second run resumes after the committed offsets', async () => {
  const topic = unique('toolchain');
  const groupId = unique('toolchain-group');
  await createTopic(topic, 4);

  const first = await produceIds(topic, 0, 1000);
  const seen1 = await consumeUntil(topic, groupId, first.length);
  assert.deepEqual([...seen1].sort((a, b) => a - b), first, 'first run sees each id exactly once');

  const second = await produceIds(topic, 1000, 500);
  const seen2 = await consumeUntil(topic, groupId, second.length);
  assert.deepEqual([...seen2].sort((a, b) => a - b), second, 'second run sees only the new ids');

  const admin = kafka().admin();
  await admin.connect();
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const high = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  for (const p of committed!.partitions) {
    const end = high.find((h) => h.partition === p.partition)!;
    assert.equal(p.offset, end.high, `partition ${p.partition} committed up to its end`);
  }
});

test('a topic created with several partitions reports them through metadata', async () => {
  const topic = unique('toolchain-meta');
  await createTopic(topic, 6);
  const admin = kafka().admin();
  await admin.connect();
  const md = await admin.fetchTopicMetadata({ topics: [topic] });
  await admin.disconnect();
  assert.equal(md.topics[0]!.partitions.length, 6);
});
