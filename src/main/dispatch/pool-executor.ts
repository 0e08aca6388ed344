/**
 * The pool backend: a batch runs on the worker thread its partition is
 * pinned to (worker-pool.ts). The task carries the partition's record set
 * (shared memory: nothing copied, nothing decoded here) and the window of it
 * to run; records kafkajs decoded itself are packed into one transferable buffer.
 */
import type { TopicRoute } from '../../config/resolve.ts';
import { JobTimeoutError, serializeError } from '../../errors.ts';
import { recordsToWire, type FetchedRecords, type RecordWindow } from '../../protocol/records.ts';
import { partitionKey } from '../../protocol/partition-id.ts';
import { UNKNOWN_THREAD, type BatchOutcome, type Gate, type HookOutcome } from '../../protocol/tasks.ts';
import type { Executor } from './executor.ts';
import { ThreadTerminatedError, type WorkerPool } from './worker-pool.ts';

export class PoolExecutor implements Executor {
  constructor(
    readonly pool: WorkerPool,
    /** Grace after timeoutMs before the worker's own timeout handling is given up on, per group. */
    readonly graceMsOf: (group: string) => number,
  ) {}

  async run(route: TopicRoute, partition: number, records: FetchedRecords, window: RecordWindow, attempt: number, gate: Gate): Promise<BatchOutcome> {
    const key = partitionKey(route.group, route.topic, partition);
    const task = { kind: 'batch' as const, group: route.group, topic: route.topic, partition, attempt, records: recordsToWire(records), window, gate };
    if (route.timeoutMs === undefined) return this.pool.runBatch(key, task);
    // The worker enforces timeoutMs + grace itself; this deadline only catches a thread
    // that cannot (a synchronous loop), a little later so the worker gets to answer first.
    const grace = this.graceMsOf(route.group);
    const deadline = route.timeoutMs + grace + Math.max(1000, grace);
    try {
      return await this.pool.runBatch(key, task, deadline);
    } catch (err) {
      if (!(err instanceof ThreadTerminatedError)) throw err;
      // This batch is the culprit: report a (counting) timeout, not a lost thread.
      return { threadId: UNKNOWN_THREAD, commitOffset: null, error: serializeError(new JobTimeoutError(route.timeoutMs, true)), instanceReset: true, durationMs: deadline };
    }
  }

  revoke(route: TopicRoute, partition: number): Promise<HookOutcome | undefined> {
    return this.pool.revoke(partitionKey(route.group, route.topic, partition), { kind: 'revoke', group: route.group, topic: route.topic, partition });
  }

  eofed(route: TopicRoute, partition: number): Promise<HookOutcome | undefined> {
    return this.pool.runHook(partitionKey(route.group, route.topic, partition), { kind: 'eofed', group: route.group, topic: route.topic, partition });
  }

  threadOf(route: TopicRoute, partition: number): number | undefined {
    return this.pool.pinnedThread(partitionKey(route.group, route.topic, partition));
  }
}
