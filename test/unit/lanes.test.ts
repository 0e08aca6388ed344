/**
 * Adding up the lanes of a batch whose virtual partitions ran on several
 * threads (main/dispatch/lanes.ts): the lowest commit wins, counts add up,
 * a withdrawn lane withdraws the batch, the failing lane with the lowest
 * unfinished offset speaks for it, and controls count only when all passed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeLaneOutcomes } from '../../src/main/dispatch/lanes.ts';
import type { SerializedError } from '../../src/errors.ts';
import type { BatchOutcome } from '../../src/protocol/tasks.ts';

const ok = (threadId: number, commitOffset: number | null, more: Partial<BatchOutcome> = {}): BatchOutcome => ({ threadId, commitOffset, endOffset: 100, messages: 10, filtered: 0, durationMs: threadId, ...more });
const error: SerializedError = { name: 'Error', message: 'boom' };

test('all lanes passed: the lowest commit, messages and filtered summed, the longest duration, controls merged', () => {
  const merged = mergeLaneOutcomes([ok(1, 100, { filtered: 2, control: { seek: 50 } }), ok(2, 80, { control: { pauseMs: 300 } })]);
  assert.deepEqual(merged, { threadId: 1, commitOffset: 80, endOffset: 100, messages: 20, filtered: 2, durationMs: 2, control: { seek: 50, pauseMs: 300 } });
  assert.equal(mergeLaneOutcomes([ok(1, 100), ok(2, null)]).commitOffset, null, 'a lane that may commit nothing holds the batch back');
  assert.equal(mergeLaneOutcomes([ok(1, 100)]).commitOffset, 100);
});

test('a withdrawn lane withdraws the whole batch', () => {
  const merged = mergeLaneOutcomes([ok(1, 100), { threadId: 2, withdrawn: true, commitOffset: null, durationMs: 0 }]);
  assert.equal(merged.withdrawn, true);
  assert.equal(merged.commitOffset, null);
});

test('failures: the lane failing lowest speaks for the batch; no control applies; a reset instance is reported', () => {
  const merged = mergeLaneOutcomes([
    ok(1, 70, { error, failedOffset: 75 }),
    ok(2, 40, { error: { ...error, message: 'lower' }, failedOffset: 40, instanceReset: true }),
    ok(3, 100, { control: { seek: 10 } }),
  ]);
  assert.equal(merged.commitOffset, 40);
  assert.equal(merged.threadId, 2);
  assert.equal(merged.error?.message, 'lower');
  assert.equal(merged.failedOffset, 40);
  assert.equal(merged.instanceReset, true);
  assert.equal(merged.control, undefined);
  assert.equal(merged.messages, 30);
});
