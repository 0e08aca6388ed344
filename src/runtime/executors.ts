/**
 * Where a batch runs: on its pinned worker thread (pool) or on the main
 * thread (inline). Both run the same PartitionRunner code.
 */
import type { TopicRoute } from '../app/config.ts';
import { packBatch, type RawBatch } from '../messages/raw-batch.ts';
import type { PartitionRunner } from './partition-runner.ts';
import type { WorkerPool } from './pool.ts';
import type { BatchOutcome, HookOutcome } from './wire.ts';

export interface Executor {
  run(route: TopicRoute, raw: RawBatch, attempt: number, nextOffset: number): Promise<BatchOutcome>;
  revoke(route: TopicRoute, partition: number): Promise<HookOutcome | undefined>;
  /** Thread id the partition runs on ('inline' for the main thread), if known. */
  threadOf(route: TopicRoute, partition: number): number | 'inline' | undefined;
}

export function partitionKey(group: string, topic: string, partition: number): string {
  return `${group}\u0000${topic}\u0000${partition}`;
}

export class PoolExecutor implements Executor {
  constructor(readonly pool: WorkerPool) {}

  run(route: TopicRoute, raw: RawBatch, attempt: number, nextOffset: number): Promise<BatchOutcome> {
    const key = partitionKey(route.group, route.topic, raw.partition);
    return this.pool.runBatch(key, { kind: 'batch', group: route.group, topic: route.topic, partition: raw.partition, attempt, nextOffset, packed: packBatch(raw) });
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

  run(route: TopicRoute, raw: RawBatch, attempt: number, nextOffset: number): Promise<BatchOutcome> {
    return this.runner.runBatch(route.group, raw, attempt, nextOffset);
  }

  revoke(route: TopicRoute, partition: number): Promise<HookOutcome | undefined> {
    return this.runner.revoke(route.group, route.topic, partition);
  }

  threadOf(): 'inline' {
    return 'inline';
  }
}
