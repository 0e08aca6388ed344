/**
 * The retry policy, as pure functions: how long to back off before the
 * n-th try, which message a failure is about, and when a message goes to
 * its dead-letter topic instead of being tried again. The scheduler applies
 * them; they hold no state of their own.
 */
import type { TopicRoute } from '../../config/resolve.ts';
import type { SerializedError } from '../../errors.ts';

/** Backoff before try `attempt + 1`: initialMs doubling per attempt, capped at maxMs. */
export function backoffMs(backoff: TopicRoute['retryBackoff'], attempt: number): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** (attempt - 1));
}

export interface FailureClues {
  /** The offset the error names (PayloadError, an error with `offset`), if any. */
  failedOffset?: number | undefined;
  /** The consumer marked messages before failing (it stopped at the first unmarked one). */
  marked: boolean;
  /** The message an earlier failure of the same messages was pinned on. */
  previous: number | null;
}

/**
 * The message a failure is about, among `offsets` (the unprocessed rest of
 * the failed batch, in order): the one the error names, the only one, the
 * first unmarked one when the consumer marked others (Karafka's rule), or
 * the one pinned before when a retry failed again without saying more.
 * Undefined when nothing tells (then isolation runs them one at a time).
 */
export function suspectOf(offsets: number[], clues: FailureClues): number | undefined {
  const first = offsets[0];
  if (clues.failedOffset !== undefined && first !== undefined && clues.failedOffset >= first) return clues.failedOffset;
  if (offsets.length === 1) return first;
  if (clues.marked) return first;
  if (clues.previous !== null && offsets.includes(clues.previous)) return clues.previous;
  return undefined;
}

/** Whether the suspect goes to the dead-letter topic now (its `attempt`-th call failed). */
export function deadLetterNow(deadLetter: NonNullable<TopicRoute['deadLetter']>, attempt: number, error: SerializedError): boolean {
  const malformed = error.code === 'PAYLOAD_INVALID';
  return attempt > deadLetter.maxRetries || (malformed && !deadLetter.retryMalformed);
}
