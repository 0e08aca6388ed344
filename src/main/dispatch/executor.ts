/**
 * Where a batch runs: on its pinned worker thread (pool-executor.ts) or on
 * the main thread (inline.ts). Both run the same PartitionRunner code, so
 * both backends have the same semantics; the scheduler sees only this.
 */
import type { TopicRoute } from '../../config/resolve.ts';
import type { FetchedRecords, RecordWindow } from '../../protocol/records.ts';
import type { BatchOutcome, Gate, HookOutcome } from '../../protocol/tasks.ts';

export interface Executor {
  /** Runs the window of the partition's records as one batch, unless its gate was fenced before it could start (then `withdrawn`). */
  run(route: TopicRoute, partition: number, records: FetchedRecords, window: RecordWindow, attempt: number, gate: Gate): Promise<BatchOutcome>;
  revoke(route: TopicRoute, partition: number): Promise<HookOutcome | undefined>;
  /** eofed() on the partition's instance, on its thread. */
  eofed(route: TopicRoute, partition: number): Promise<HookOutcome | undefined>;
  /** Thread id the partition runs on ('inline' for the main thread), if known. */
  threadOf(route: TopicRoute, partition: number): number | 'inline' | undefined;
}
