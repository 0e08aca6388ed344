/**
 * Transactional topics through the whole server: ids written in committed
 * and aborted transactions (kafkajs's transactional producer), interleaved
 * with plain writes, over 3 partitions. The worker threads read the raw
 * record sets: every committed and plain id is consumed, no id of an aborted
 * transaction ever reaches consume(), and the group commits through the log
 * end (the transaction markers included), read back from Kafka. A small
 * maxMessages splits record sets into many windows on the way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTopic, kafka, unique } from '../helpers/kafka.ts';
import { consumeAll, idStats } from '../helpers/app.ts';

test('aborted transactions never reach consume(); committed and plain ids all do; commits reach the log end past the markers', { timeout: 180_000 }, async () => {
  const topic = unique('transactions');
  const group = unique('transactions-group');
  await createTopic(topic, 3);
  const producer = kafka().producer({ transactionalId: unique('tx'), idempotent: true, maxInFlightRequests: 1 });
  const plain = kafka().producer();
  await producer.connect();
  await plain.connect();
  const expected = new Set<number>();
  const aborted = new Set<number>();
  let id = 0;
  const messages = (n: number, into: Set<number>) =>
    Array.from({ length: n }, () => {
      into.add(id);
      const m = { key: String(id), value: JSON.stringify({ id }) };
      id += 1;
      return m;
    });
  try {
    for (let round = 0; round < 12; round++) {
      const tx = await producer.transaction();
      const abort = round % 3 === 1;
      await tx.send({ topic, messages: messages(150, abort ? aborted : expected) });
      if (abort) await tx.abort();
      else await tx.commit();
      await plain.send({ topic, messages: messages(40, expected) });
    }
  } finally {
    await producer.disconnect();
    await plain.disconnect();
  }
  assert.ok(aborted.size > 0 && expected.size > 0);

  const records = await consumeAll({ tag: 'transactions', topic, group, expected: expected.size, env: { PARTITA_TEST_MAX_MESSAGES: '64' } });
  const { distinct } = idStats(records);
  const leaked = [...distinct].filter((i) => aborted.has(i));
  assert.deepEqual(leaked, [], 'no id of an aborted transaction was consumed');
  assert.deepEqual([...distinct].sort((a, b) => a - b), [...expected].sort((a, b) => a - b), 'every committed and plain id consumed');
});
