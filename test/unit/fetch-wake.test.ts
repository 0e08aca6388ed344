/**
 * The resume signal the fetch-wake hook waits on (pure timing logic), and
 * the maxWaitTime kafkajs's own fetch asks for under the hook.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { BRIEF_PAUSE_WAIT_MS, fetchWakes, installFetchWake, ResumeSignal } from '../../src/kafka/fetch-wake.ts';

test('wait() ends at the next resumed(), or after its time; every waiter wakes; nothing is left waiting', async () => {
  const s = new ResumeSignal();
  const started = performance.now();
  const waits = [s.wait(5000), s.wait(5000)];
  assert.equal(s.waiting, 2);
  setTimeout(() => s.resumed(), 20);
  await Promise.all(waits);
  assert.ok(performance.now() - started < 1000, 'woken by resumed(), not by the 5 s timer');
  assert.equal(s.waiting, 0);
  const t0 = performance.now();
  await s.wait(30);
  assert.ok(performance.now() - t0 >= 25, 'without a resume it waits its time');
  assert.equal(s.waiting, 0);
  s.resumed(); // nobody waiting: nothing happens
});

test('the hook: while a partition of the broker is paused briefly (and others are not), kafkajs asks it with a short maxWaitTime; a consumer pause or no pause keeps maxWaitTimeMs', async () => {
  installFetchWake();
  const ConsumerGroup = createRequire(import.meta.url)('kafkajs/src/consumer/consumerGroup.js') as { prototype: object };
  const asked: number[] = [];
  const paused = new Set<number>();
  // kafkajs's own fetch, on a group whose collaborators are stand-ins: what it sends is what is checked.
  const group = Object.assign(Object.create(ConsumerGroup.prototype) as { fetch(nodeId: number): Promise<unknown[]>; maxWaitTime: number; fetched?: number }, {
    maxWaitTime: 500,
    minBytes: 1,
    maxBytes: 1 << 20,
    maxBytesPerPartition: 1 << 20,
    isolationLevel: 1,
    preferredReadReplicasPerTopicPartition: {},
    seekOffset: { has: () => false },
    cluster: { refreshMetadataIfNecessary: async () => {}, findBroker: async () => ({ fetch: async (req: { maxWaitTime: number }) => (asked.push(req.maxWaitTime), { responses: [] }) }) },
    checkForStaleAssignment: () => {},
    async seekOffsets(this: { fetched?: number }) {
      this.fetched = (this.fetched ?? 0) + 1; // a write kafkajs makes through `this` reaches the group
    },
    filterPartitionsByNode: (_node: number, tps: unknown) => tps,
    getActiveTopicPartitions: () => ({ t: new Set([0, 1].filter((p) => !paused.has(p))) }),
    offsetManager: { committedOffsets: () => ({ t: { 0: '0', 1: '0' } }), nextOffset: () => ({ toString: () => '0' }) },
    subscriptionState: { assigned: () => [{ topic: 't', partitions: [0, 1] }], isPaused: (_t: string, p: number) => paused.has(p) },
  });
  const signal = new ResumeSignal();
  const fetchOnce = () => fetchWakes.run(signal, () => group.fetch(1));
  await fetchOnce();
  paused.add(0);
  signal.paused('t', 0, true); // prefetch full
  await fetchOnce();
  await group.fetch(1); // outside the source's scope: kafkajs as it is
  signal.paused('t', 0, false); // the consumer's own pause now
  await fetchOnce();
  signal.paused('t', 0, true);
  paused.delete(0);
  signal.resumed('t', 0);
  await fetchOnce();
  assert.deepEqual(asked, [500, BRIEF_PAUSE_WAIT_MS, 500, 500, 500]);
  assert.equal(group.fetched, 5, 'writes through the shortened view land on the group itself');
  assert.equal(group.maxWaitTime, 500, 'the group keeps its own maxWaitTime');
});

test('briefWaitMs: a quarter of how long the partition should still be paused (its pauses so far), or has been paused; 20 ms to maxWait', () => {
  let t = 0;
  const s = new ResumeSignal(() => t);
  assert.equal(s.briefWaitMs('t', 0, 500), undefined, 'not paused');
  s.paused('t', 0, false);
  assert.equal(s.briefWaitMs('t', 0, 500), undefined, "a consumer's own pause is not brief");
  // No history: a quarter of the time paused, from 20 ms up.
  s.paused('t', 0, true);
  assert.equal(s.briefWaitMs('t', 0, 500), BRIEF_PAUSE_WAIT_MS);
  t = 400;
  assert.equal(s.briefWaitMs('t', 0, 500), 100);
  t = 5000;
  assert.equal(s.briefWaitMs('t', 0, 500), 500, 'a long overdue pause: the full long poll, not a request every 20 ms');
  s.resumed('t', 0); // that pause lasted 5 s
  // Quick batches: pauses of 5 ms bring the average down (the 5 s one weighs 0.7^n); the broker is asked again every 20 ms.
  for (let i = 0; i < 20; i++) {
    s.paused('t', 0, true);
    t += 5;
    s.resumed('t', 0);
  }
  s.paused('t', 0, true);
  assert.equal(s.briefWaitMs('t', 0, 500), BRIEF_PAUSE_WAIT_MS);
  s.resumed('t', 0);
  // Slow batches: pauses of 1.2 s, so a fresh one waits out the long poll (its queued batch outlasts it).
  for (let i = 0; i < 12; i++) {
    s.paused('t', 1, true);
    t += 1200;
    s.resumed('t', 1);
  }
  s.paused('t', 1, true);
  assert.ok(Math.abs(s.briefWaitMs('t', 1, 500)! - 300) < 1, 'a quarter of the ~1.2 s it should still be paused');
  t += 1000;
  assert.equal(s.briefWaitMs('t', 1, 500), 250, 'a quarter of the 1 s it has been paused, once that is longer');
  assert.equal(s.briefWaitMs('t', 0, 500), undefined, 'the other partition was resumed');
});
