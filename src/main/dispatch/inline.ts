/**
 * The inline backend: batches run on the main thread, in the same
 * PartitionRunner the worker threads use (for light, I/O-bound consumers
 * where a thread hop costs more than it brings).
 */
import type { TopicRoute } from '../../config/resolve.ts';
import type { PartitionRunner } from '../../runner/partition-runner.ts';
import type { FetchedRecords, RecordWindow } from '../../protocol/records.ts';
import { admitted, type BatchOutcome, type Gate, type HookOutcome } from '../../protocol/tasks.ts';
import type { Executor } from './executor.ts';

export class InlineExecutor implements Executor {
  constructor(readonly runner: PartitionRunner) {}

  run(route: TopicRoute, partition: number, records: FetchedRecords, window: RecordWindow, attempt: number, gate: Gate): Promise<BatchOutcome> {
    if (!admitted(gate)) return Promise.resolve({ threadId: 0, withdrawn: true, commitOffset: null, durationMs: 0 });
    return this.runner.runBatch(route.group, route.topic, partition, records, window, attempt, gate);
  }

  eofed(route: TopicRoute, partition: number): Promise<HookOutcome | undefined> {
    return this.runner.eofed(route.group, route.topic, partition);
  }

  revoke(route: TopicRoute, partition: number): Promise<HookOutcome | undefined> {
    return this.runner.revoke(route.group, route.topic, partition);
  }

  threadOf(): 'inline' {
    return 'inline';
  }
}
