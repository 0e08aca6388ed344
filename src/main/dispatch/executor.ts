/**
 * Where a batch runs: on its pinned worker thread (pool-executor.ts) or on
 * the main thread (inline.ts). Both run the same PartitionRunner code, so
 * both backends have the same semantics; the scheduler sees only this.
 */
import type { TopicRoute } from '../../config/resolve.ts';
import type { RawBatch } from '../../protocol/batch-codec.ts';
import type { BatchOutcome, Gate, HookOutcome } from '../../protocol/tasks.ts';

export interface Executor {
  /** Runs the batch unless its gate was fenced before it could start (then `withdrawn`). */
  run(route: TopicRoute, raw: RawBatch, attempt: number, nextOffset: number, gate: Gate): Promise<BatchOutcome>;
  revoke(route: TopicRoute, partition: number): Promise<HookOutcome | undefined>;
  /** Thread id the partition runs on ('inline' for the main thread), if known. */
  threadOf(route: TopicRoute, partition: number): number | 'inline' | undefined;
}
