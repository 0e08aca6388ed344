/**
 * Where a batch runs: on its pinned worker thread (pool) or on the main
 * thread (inline). Both run the same PartitionRunner code.
 */
import type { TopicRoute } from '../app/config.ts';
import { packBatch, type RawBatch } from '../messages/raw-batch.ts';
import type { PartitionRunner } from './partition-runner.ts';
import { ThreadTerminatedError, type WorkerPool } from './pool.ts';
import { JobTimeoutError, serializeError } from '../errors.ts';
import { admitted, type BatchOutcome, type Gate, type HookOutcome } from './wire.ts';

export interface Executor {
  /** Runs the batch unless its gate was fenced before it could start (then `withdrawn`). */
  run(route: TopicRoute, raw: RawBatch, attempt: number, nextOffset: number, gate: Gate): Promise<BatchOutcome>;
  revoke(route: TopicRoute, partition: number): Promise<HookOutcome | undefined>;
  /** Thread id the partition runs on ('inline' for the main thread), if known. */
  threadOf(route: TopicRoute, partition: number): number | 'inline' | undefined;
}

export function partitionKey(group: string, topic: string, partition: number): string {
  return `${group}\u0000${topic}\u0000${partition}`;
}

export class PoolExecutor implements Executor {
  constructor(
    readonly pool: WorkerPool,
    /** Grace after timeoutMs before the worker's own timeout handling is given up on, per group. */
    readonly graceMsOf: (group: string) => number,
  ) {}

  async run(route: TopicRoute, raw: RawBatch, attempt: number, nextOffset: number, gate: Gate): Promise<BatchOutcome> {
    const key = partitionKey(route.group, route.topic, raw.partition);
    const task = { kind: 'batch' as const, group: route.group, topic: route.topic, partition: raw.partition, attempt, nextOffset, packed: packBatch(raw), gate };
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
      return { threadId: -1, commitOffset: null, error: serializeError(new JobTimeoutError(route.timeoutMs, true)), instanceReset: true, durationMs: deadline };
    }
  }

  revoke(route: TopicRoute, partition: number): Promise<HookOutcome | undefined> {
    return this.pool.revoke(partitionKey(route.group, route.topic, partition), { kind: 'revoke', group: route.group, topic: route.topic, partition });
  }

  threadOf(route: TopicRoute, partition: number): number | undefined {
    return this.pool.pinnedThread(partitionKey(route.group, route.topic, partition));
  }
}

export class InlineExecutor implements Executor {
  constructor(readonly runner: PartitionRunner) {}

  run(route: TopicRoute, raw: RawBatch, attempt: number, nextOffset: number, gate: Gate): Promise<BatchOutcome> {
    if (!admitted(gate)) return Promise.resolve({ threadId: 0, withdrawn: true, commitOffset: null, durationMs: 0 });
    return this.runner.runBatch(route.group, raw, attempt, nextOffset);
  }

  revoke(route: TopicRoute, partition: number): Promise<HookOutcome | undefined> {
    return this.runner.revoke(route.group, route.topic, partition);
  }

  threadOf(): 'inline' {
    return 'inline';
  }
}
