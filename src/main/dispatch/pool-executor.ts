/**
 * The pool backend: a batch runs on the worker thread its partition is
 * pinned to (worker-pool.ts). The task carries the partition's record set
 * (shared memory: nothing copied, nothing decoded here) and the window of it
 * to run; records kafkajs decoded itself are packed into one transferable buffer.
 * A topic whose virtual partitions spread over threads runs a batch as one
 * task per lane (lanes.ts).
 */
import type { TopicRoute } from '../../config/resolve.ts';
import { JobTimeoutError, serializeError } from '../../errors.ts';
import { recordsToWire, type FetchedRecords, type RecordWindow } from '../../protocol/records.ts';
import { laneKey, partitionKey } from '../../protocol/partition-id.ts';
import { mergeLaneOutcomes } from './lanes.ts';
import { UNKNOWN_THREAD, type BatchOutcome, type BatchTask, type Gate, type HookOutcome, type Lane } from '../../protocol/tasks.ts';
import type { Executor } from './executor.ts';
import { ThreadTerminatedError, type WorkerPool } from './worker-pool.ts';

export class PoolExecutor implements Executor {
  constructor(
    readonly pool: WorkerPool,
    /** Grace after timeoutMs before the worker's own timeout handling is given up on, per group. */
    readonly graceMsOf: (group: string) => number,
  ) {}

  /**
   * One task on the partition's thread; on a topic whose virtual partitions are
   * spread over threads (`parallel.threads` > 1), one per lane, each pinned on its
   * own, their outcomes added up once every lane has answered (so a retry never
   * overlaps a lane still running).
   */
  async run(route: TopicRoute, partition: number, records: FetchedRecords, window: RecordWindow, attempt: number, gate: Gate): Promise<BatchOutcome> {
    const key = partitionKey(route.group, route.topic, partition);
    const task = (lane?: Lane): BatchTask => ({ kind: 'batch', group: route.group, topic: route.topic, partition, attempt, records: recordsToWire(records), window, gate, ...(lane ? { lane } : {}) });
    const count = route.parallel?.threads ?? 1;
    if (count <= 1) return this.#runOn(route, key, task());
    const lanes = await Promise.allSettled(Array.from({ length: count }, (_, index) => this.#runOn(route, laneKey(key, index), task({ index, count }))));
    // A lane whose thread died: the batch fails as a lost thread would fail it.
    const lost = lanes.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (lost) throw lost.reason;
    const [one, ...more] = lanes.map((r) => (r as PromiseFulfilledResult<BatchOutcome>).value);
    return mergeLaneOutcomes([one!, ...more]);
  }

  async #runOn(route: TopicRoute, key: string, task: BatchTask): Promise<BatchOutcome> {
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

  /** The keys a partition is pinned under: its own, and one per further lane. */
  #keys(route: TopicRoute, partition: number): string[] {
    const key = partitionKey(route.group, route.topic, partition);
    return Array.from({ length: route.parallel?.threads ?? 1 }, (_, lane) => laneKey(key, lane));
  }

  /** Hooks run on every lane's thread; what they mark and their failures add up. */
  async #hookOn(route: TopicRoute, partition: number, run: (key: string) => Promise<HookOutcome | undefined>): Promise<HookOutcome | undefined> {
    const outs = (await Promise.all(this.#keys(route, partition).map(run))).filter((o): o is HookOutcome => o !== undefined);
    if (outs.length <= 1) return outs[0];
    return { threadId: outs[0]!.threadId, commits: outs.flatMap((o) => o.commits), errors: outs.flatMap((o) => o.errors) };
  }

  revoke(route: TopicRoute, partition: number): Promise<HookOutcome | undefined> {
    return this.#hookOn(route, partition, (key) => this.pool.revoke(key, { kind: 'revoke', group: route.group, topic: route.topic, partition }));
  }

  eofed(route: TopicRoute, partition: number): Promise<HookOutcome | undefined> {
    return this.#hookOn(route, partition, (key) => this.pool.runHook(key, { kind: 'eofed', group: route.group, topic: route.topic, partition }));
  }

  threadOf(route: TopicRoute, partition: number): number | undefined {
    return this.pool.pinnedThread(partitionKey(route.group, route.topic, partition));
  }
}
