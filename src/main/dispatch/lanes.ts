/**
 * A partition whose virtual partitions are spread over several threads
 * (topic option `parallel.threads`) runs each batch as one task per lane;
 * this adds the lanes' outcomes up to the batch's one outcome, which the
 * scheduler handles like any other. Pure.
 *
 * - The lanes must have split the batch alike (same digest), else some
 *   message ran on no lane or on two: the batch fails (PARALLEL_SPLIT_MISMATCH).
 * - Commit: the lowest lane's (each lane's is the contiguous prefix its own
 *   virtual partitions finished, so the lowest is the whole partition's);
 *   when every lane passed, capped at the lowest seek asked (what comes from
 *   there was not processed).
 * - A lane withdrawn before it started: the whole batch is withdrawn and runs
 *   again later (lanes that did run see their messages again: at least once).
 * - Failure: the failing lane whose failing virtual partition stopped lowest
 *   speaks for the batch (its error and failed offset), as one thread's
 *   virtual partitions do; pause and seek apply only when every lane passed.
 */
import { ParallelSplitError, serializeError } from '../../errors.ts';
import { capAtSeek, mergeControl } from '../../runner/virtual-partitions.ts';
import type { BatchOutcome, ConsumerControl } from '../../protocol/tasks.ts';

/** Lower of two commit offsets, where null (nothing new may be committed) is the lowest. */
function lower(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : Math.min(a, b);
}

export function mergeLaneOutcomes(outcomes: readonly [BatchOutcome, ...BatchOutcome[]], partition: { group: string; topic: string; partition: number }): BatchOutcome {
  const first = outcomes[0];
  if (outcomes.length === 1) return first;
  const durationMs = Math.max(...outcomes.map((o) => o.durationMs));
  if (outcomes.some((o) => o.withdrawn)) return { threadId: first.threadId, withdrawn: true, commitOffset: null, durationMs };
  let commitOffset: number | null = first.commitOffset;
  let endOffset: number | undefined;
  let messages = 0;
  let filtered = 0;
  let failed: BatchOutcome | undefined;
  for (const o of outcomes) {
    commitOffset = lower(commitOffset, o.commitOffset);
    if (o.endOffset !== undefined) endOffset = Math.min(endOffset ?? Infinity, o.endOffset);
    messages += o.messages ?? 0;
    filtered += o.filtered ?? 0;
    if (o.error && (!failed || (o.failedAt ?? Infinity) < (failed.failedAt ?? Infinity))) failed = o;
  }
  const merged: BatchOutcome = { threadId: first.threadId, commitOffset, messages, filtered, durationMs, ...(endOffset !== undefined ? { endOffset } : {}) };
  const reset = outcomes.some((o) => o.instanceReset) ? { instanceReset: true as const } : {};
  // Lanes that read the window (an error before reading reports no digest) must agree on the split.
  const digests = new Set(outcomes.filter((o) => o.split !== undefined).map((o) => o.split));
  if (digests.size > 1) return { ...merged, commitOffset: null, error: serializeError(new ParallelSplitError(partition.group, partition.topic, partition.partition)), ...reset };
  if (failed) {
    return { ...merged, threadId: failed.threadId, error: failed.error!, ...(failed.failedOffset !== undefined ? { failedOffset: failed.failedOffset } : {}), ...reset };
  }
  const asked = outcomes.map((o) => o.control).filter((c): c is ConsumerControl => c !== undefined);
  if (asked.length === 0) return merged;
  const control = mergeControl(asked);
  return { ...merged, commitOffset: capAtSeek(merged.commitOffset, control), control };
}
