/**
 * The pool backend: a batch runs on the worker thread its partition is
 * pinned to (worker-pool.ts). The task carries the partition's record set
 * (shared memory: nothing copied, nothing decoded here) and the window of it
 * to run; records kafkajs decoded itself are packed into one transferable buffer.
 * A topic whose virtual partitions spread over threads runs a batch as one
 * task per lane (lanes.ts).
 */
import type { TopicRoute } from '../../config/resolve.ts';
import { JobTimeoutError, serializeError, WorkerError } from '../../errors.ts';
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
    const task = (lane?: Lane): BatchTask => ({ kind: 'batch', group: route.group, topic: route.topic, partition, attempt, records: recordsToWire(records), window, gate, ...(lane ? { lane } : {}) });
    const lanes = this.#lanes(route, partition);
    if (lanes.length === 1) return this.#runOn(route, lanes[0]!.key, task());
    const settled = await Promise.allSettled(lanes.map(({ key, lane }) => this.#runOn(route, key, task(lane))));
    const id = { group: route.group, topic: route.topic, partition };
    // A lane whose thread died, before answering or after (while another lane still ran, so the
    // scheduler's own thread-lost rewind did not apply): its instances are gone with what they held.
    let lost: unknown;
    const answered: BatchOutcome[] = [];
    settled.forEach((r, index) => {
      if (r.status === 'rejected') lost ??= r.reason;
      else {
        answered.push(r.value);
        const ranOn = r.value.threadId;
        if (!r.value.withdrawn && ranOn !== UNKNOWN_THREAD && this.pool.pinnedThread(lanes[index]!.key) !== ranOn) lost ??= new WorkerError(`worker thread ${ranOn}, which ran lane ${index} of ${route.group}/${route.topic}/${partition}, exited before the batch's other lanes finished`);
      }
    });
    const [one, ...more] = answered;
    if (lost !== undefined) {
      // A lost thread does not count against the batch (it may not be the culprit) — unless a lane
      // failed on its own (a timeout that terminated the thread it shared): that failure counts.
      if (!one || !answered.some((o) => o.error)) throw lost;
      return { ...mergeLaneOutcomes([one, ...more], id), commitOffset: null, instanceReset: true };
    }
    const merged = mergeLaneOutcomes([one!, ...more], id);
    // Withdrawn, but a lane that ran dropped a stuck instance: rewind as for a lost thread.
    if (merged.withdrawn && answered.some((o) => o.instanceReset)) throw new WorkerError(`a lane of ${route.group}/${route.topic}/${partition} reset its instance while another was withdrawn`);
    return merged;
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

  /** The keys a partition is pinned under (its own, and one per further lane), with the lane each stands for. */
  #lanes(route: TopicRoute, partition: number): Array<{ key: string; lane?: Lane }> {
    const key = partitionKey(route.group, route.topic, partition);
    const count = route.parallel?.threads ?? 1;
    if (count <= 1) return [{ key }];
    return Array.from({ length: count }, (_, index) => ({ key: laneKey(key, index), lane: { index, count } }));
  }

  /** Hooks run on every lane's thread, each on its own lane's instances; what they mark and their failures add up. */
  async #hookOn(route: TopicRoute, partition: number, run: (key: string, lane: { lane?: Lane }) => Promise<HookOutcome | undefined>): Promise<HookOutcome | undefined> {
    const outs = (await Promise.all(this.#lanes(route, partition).map(({ key, lane }) => run(key, lane ? { lane } : {})))).filter((o): o is HookOutcome => o !== undefined);
    if (outs.length <= 1) return outs[0];
    return { threadId: outs[0]!.threadId, commits: outs.flatMap((o) => o.commits), errors: outs.flatMap((o) => o.errors) };
  }

  revoke(route: TopicRoute, partition: number): Promise<HookOutcome | undefined> {
    return this.#hookOn(route, partition, (key, lane) => this.pool.revoke(key, { kind: 'revoke', group: route.group, topic: route.topic, partition, ...lane }));
  }

  eofed(route: TopicRoute, partition: number): Promise<HookOutcome | undefined> {
    return this.#hookOn(route, partition, (key, lane) => this.pool.runHook(key, { kind: 'eofed', group: route.group, topic: route.topic, partition, ...lane }));
  }

  threadOf(route: TopicRoute, partition: number): number | undefined {
    return this.pool.pinnedThread(partitionKey(route.group, route.topic, partition));
  }
}
