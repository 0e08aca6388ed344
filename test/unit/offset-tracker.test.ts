/** OffsetTracker: watermarks only move forward; only moved partitions are committed; failures and unacknowledged commits retry. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OffsetTracker, type TopicPartitionOffset } from '../../src/main/offsets.ts';

test('commits what moved since the last successful commit, never moves back', async () => {
  const t = new OffsetTracker();
  t.markProcessed('a', 0, 10);
  t.markProcessed('a', 0, 5);
  t.markProcessed('a', 1, 3);
  assert.equal(t.processed('a', 0), 10);
  const sent: TopicPartitionOffset[][] = [];
  await t.commit(async (o) => (sent.push(o), o));
  assert.deepEqual(sent[0], [{ topic: 'a', partition: 0, offset: 10 }, { topic: 'a', partition: 1, offset: 3 }]);
  assert.deepEqual(t.pending(), []);
  t.markProcessed('a', 1, 7);
  await t.commit(async (o) => (sent.push(o), o));
  assert.deepEqual(sent[1], [{ topic: 'a', partition: 1, offset: 7 }]);
  assert.equal(t.committed('a', 1), 7);
});

test('a failed commit leaves everything pending for the next try', async () => {
  const t = new OffsetTracker();
  t.markProcessed('a', 0, 4);
  await assert.rejects(t.commit(async () => { throw new Error('rebalance'); }));
  assert.equal(t.committed('a', 0), undefined);
  assert.deepEqual(t.pending(), [{ topic: 'a', partition: 0, offset: 4 }]);
  t.forget('a', 0);
  assert.deepEqual(t.pending(), []);
});

test('only what Kafka acknowledged counts as committed; the rest is sent again next time', async () => {
  const t = new OffsetTracker();
  t.markProcessed('a', 0, 10);
  t.markProcessed('a', 1, 20);
  // kafkajs returned without committing partition 1 (its consumer was restarting, say).
  const left = await t.commit(async (o) => o.filter((p) => p.partition === 0));
  assert.equal(t.committed('a', 0), 10);
  assert.equal(t.committed('a', 1), undefined, 'not reported as committed');
  assert.deepEqual(left, [{ topic: 'a', partition: 1, offset: 20 }]);
  const sent: TopicPartitionOffset[][] = [];
  await t.commit(async (o) => (sent.push(o), o));
  assert.deepEqual(sent, [[{ topic: 'a', partition: 1, offset: 20 }]], 'retried');
  assert.equal(t.committed('a', 1), 20);
});

test('an acknowledgement for a partition revoked meanwhile is not recorded', async () => {
  const t = new OffsetTracker();
  t.markProcessed('a', 0, 10);
  await t.commit(async (o) => {
    t.forget('a', 0);
    return o;
  });
  assert.equal(t.committed('a', 0), undefined);
  assert.deepEqual(t.all(), []);
});

test('what moved while a commit was under way is pending, not reported as unacknowledged', async () => {
  const t = new OffsetTracker();
  t.markProcessed('a', 0, 10);
  const left = await t.commit(async (o) => {
    t.markProcessed('a', 0, 15); // a batch completed meanwhile
    return o;
  });
  assert.deepEqual(left, [], 'the sent offset was acknowledged');
  assert.equal(t.committed('a', 0), 10);
  assert.deepEqual(t.pending(), [{ topic: 'a', partition: 0, offset: 15 }]);
});
