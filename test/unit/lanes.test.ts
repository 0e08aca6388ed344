/**
 * Adding up the lanes of a batch whose virtual partitions ran on several
 * threads (main/dispatch/lanes.ts): the lowest commit wins, counts add up,
 * a seek caps the commit only when every lane passed, a withdrawn lane
 * withdraws the batch, the failing lane that stopped lowest speaks for it,
 * and lanes that split the batch differently fail it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SerializedError } from '../../src/errors.ts';
import { mergeLaneOutcomes } from '../../src/main/dispatch/lanes.ts';
import type { BatchOutcome } from '../../src/protocol/tasks.ts';

const ok = (threadId: number, commitOffset: number | null, more: Partial<BatchOutcome> = {}): BatchOutcome => ({ threadId, commitOffset, endOffset: 100, messages: 10, filtered: 0, durationMs: threadId, split: 7, ...more });
const error: SerializedError = { name: 'Error', message: 'boom' };
const id = { group: 'g', topic: 't', partition: 0 };
const merge = (...o: [BatchOutcome, ...BatchOutcome[]]) => mergeLaneOutcomes(o, id);

test('all lanes passed: the lowest commit, capped at the lowest seek; messages and filtered summed; the longest duration; controls merged', () => {
  const merged = merge(ok(1, 100, { filtered: 2, control: { seek: 50 } }), ok(2, 80, { control: { pauseMs: 300 } }));
  assert.deepEqual(merged, { threadId: 1, commitOffset: 50, endOffset: 100, messages: 20, filtered: 2, durationMs: 2, control: { seek: 50, pauseMs: 300 } });
  assert.equal(merge(ok(1, 100, { control: { seek: 90 } }), ok(2, 80)).commitOffset, 80, 'a seek past the commit does not raise it');
  assert.equal(merge(ok(1, 100), ok(2, null)).commitOffset, null, 'a lane that may commit nothing holds the batch back');
  assert.equal(merge(ok(1, 100)).commitOffset, 100);
});

test('a withdrawn lane withdraws the whole batch', () => {
  const merged = merge(ok(1, 100), { threadId: 2, withdrawn: true, commitOffset: null, durationMs: 0 });
  assert.equal(merged.withdrawn, true);
  assert.equal(merged.commitOffset, null);
});

test('failures: the lane that stopped lowest speaks for the batch; a passing lane\'s seek neither applies nor lowers the commit', () => {
  const merged = merge(
    ok(1, 70, { error, failedOffset: 75, failedAt: 70 }),
    // Its commit was pulled down by a manualOffsets virtual partition that passed; its own failure is higher.
    ok(2, 10, { error: { ...error, message: 'later' }, failedOffset: 90, failedAt: 90, instanceReset: true }),
    ok(3, 100, { control: { seek: 5 } }),
  );
  assert.equal(merged.commitOffset, 10, 'the lowest commit');
  assert.equal(merged.threadId, 1);
  assert.equal(merged.error?.message, 'boom');
  assert.equal(merged.failedOffset, 75, 'the failure that stopped lowest');
  assert.equal(merged.instanceReset, true);
  assert.equal(merged.control, undefined);
  assert.equal(merged.messages, 30);
});

test('lanes that split the batch differently fail it with PARALLEL_SPLIT_MISMATCH and commit nothing', () => {
  const merged = merge(ok(1, 100), ok(2, 100, { split: 8 }));
  assert.equal(merged.error?.code, 'PARALLEL_SPLIT_MISMATCH');
  assert.equal(merged.commitOffset, null);
  // A lane that failed before reading the window reports no digest: nothing to compare.
  assert.equal(merge(ok(1, 100), { threadId: 2, commitOffset: null, error, durationMs: 0 }).error?.message, 'boom');
});
