/**
 * Runs batches on persistent consumer instances: one instance per
 * group/topic/partition, created on the first batch, `initialized()` before
 * its first consume, kept until revoke or shutdown. The same code runs inside
 * each worker thread (pool backend) and on the main thread (inline backend),
 * so both backends have the same semantics.
 *
 * Ordering is the caller's job: the scheduler sends a partition's batches one
 * at a time, in offset order.
 */
import { threadId } from 'node:worker_threads';
import type { App } from '../app/app.ts';
import type { TopicRoute } from '../config/resolve.ts';
import { attachContext, contextOf, type Consumer, type ConsumerContext } from '../consumer/consumer.ts';
import { JobTimeoutError, PayloadError, RouteNotFoundError, serializeError } from '../errors.ts';
import { resolveDeserializer, type DeserializerFn } from '../messages/deserializers.ts';
import { Messages } from '../messages/messages.ts';
import type { RawBatch } from '../protocol/batch-codec.ts';
import type { BatchOutcome, ConsumerControl, Gate, HookOutcome, Lane } from '../protocol/tasks.ts';
import { partitionKey } from '../protocol/partition-id.ts';
import { readWindow, type FetchedRecords, type RecordWindow, type WireRecords } from '../protocol/records.ts';
import { applyFilter } from './route-filter.ts';
import { BatchCarries } from './batch-carries.ts';
import { capAtSeek, firstNotDone, inLane, instanceKey, mergeControl, splitByKey, splitDigest } from './virtual-partitions.ts';
import type { Producer } from '../producer/producer.ts';

interface Instance {
  /** Its key in the runner: the partition's, plus `#<n>` for virtual partition n. */
  key: string;
  route: TopicRoute;
  consumer: Consumer<unknown>;
  ctx: ConsumerContext;
  deserialize: DeserializerFn;
  manualOffsets: boolean;
  timeoutMs: number | undefined;
  graceMs: number;
  initialized: boolean;
}

const NEVER_ABORTED = new AbortController().signal;

/** How consume() went on one instance. */
interface RunResult {
  instance: Instance;
  marked: number | null;
  control: ConsumerControl;
  error?: unknown;
  stuck: boolean;
}

/**
 * The offset of the message an error is about: a PayloadError (anywhere in the
 * cause chain) or any error carrying a numeric `offset` that is in this batch.
 */
function failedOffsetOf(err: unknown, raw: RawBatch): number | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const offset = e instanceof PayloadError ? e.offset : (e as { offset?: unknown }).offset;
    if (typeof offset === 'number' && raw.offsets.includes(offset)) return offset;
  }
  return undefined;
}

/** Waits for the batch's async produce requests; the first failure fails the batch. */
async function settlePending(ctx: ConsumerContext): Promise<void> {
  while (ctx.pending.length > 0) {
    const batch = ctx.pending.splice(0);
    const results = await Promise.allSettled(batch);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

interface Settled {
  commitOffset: number | null;
  /** The failing instance's run and rows, and (virtual partitions) its first offset not done. */
  failed: { run: RunResult; raw: RawBatch; at?: number } | undefined;
}

/** One instance: the window's end when it succeeded, else (or with manualOffsets) exactly what it marked. */
function single(run: RunResult, raw: RawBatch, endOffset: number): Settled {
  return { commitOffset: run.error || run.instance.manualOffsets ? run.marked : endOffset, failed: run.error ? { run, raw } : undefined };
}

/**
 * Virtual partitions: each is done below its first offset not finished (all of
 * them when it succeeded without manualOffsets); the batch is done up to the
 * lowest of those, and a failure is reported for the virtual partition that holds it.
 */
function contiguousPrefix(parts: Array<{ raw: RawBatch }>, runs: RunResult[], endOffset: number): Settled {
  let commitOffset = endOffset;
  let failed: (Settled['failed'] & { at: number }) | undefined;
  parts.forEach((part, i) => {
    const run = runs[i]!;
    const at = !run.error && !run.instance.manualOffsets ? undefined : firstNotDone(part.raw, run.marked);
    if (at !== undefined && at < commitOffset) commitOffset = at;
    if (run.error && (!failed || (at ?? Infinity) < failed.at)) failed = { run, raw: part.raw, at: at ?? Infinity };
  });
  return { commitOffset, failed };
}

export class PartitionRunner {
  readonly #app: App;
  readonly #producer: Producer | undefined;
  readonly #onError: ((err: unknown) => void) | undefined;
  readonly #instances = new Map<string, Instance>();
  /** Per partition: the compressed batch its last window stopped inside, for the next window. */
  readonly #carries = new BatchCarries();

  /**
   * `producer`: what consumers produce through instead of the app's; `onError`: sees each
   * batch's error as thrown, before it is serialized (both for partita/testing, in-process).
   */
  constructor(app: App, options: { producer?: Producer; onError?: (err: unknown) => void } = {}) {
    this.#app = app;
    this.#producer = options.producer;
    this.#onError = options.onError;
  }

  /** The instance of a partition, once its first batch created it (partita/testing inspects it). */
  consumerOf(group: string, topic: string, partition: number): Consumer<unknown> | undefined {
    return this.#instances.get(instanceKey(group, topic, partition, null))?.consumer;
  }

  get size(): number {
    return this.#instances.size;
  }

  /** `vp`: the virtual partition (topics with `parallel`), each with an instance of its own. */
  #instance(group: string, topic: string, partition: number, vp: number | null = null): Instance {
    const key = instanceKey(group, topic, partition, vp);
    let inst = this.#instances.get(key);
    if (!inst) {
      const route = this.#route(group, topic);
      const consumer = new route.consumer();
      const ctx: ConsumerContext = { consumerGroup: group, topic, partition, virtualPartition: vp, attempt: 1, marked: null, signal: NEVER_ABORTED, producer: this.#producer ?? this.#app.producer, responder: route.responder, pending: [], gate: null, control: {}, inBatch: false };
      attachContext(consumer, ctx);
      const settings = this.#app.group(group)!.settings;
      inst = {
        key,
        route,
        consumer,
        ctx,
        deserialize: resolveDeserializer(route.deserializer),
        manualOffsets: route.manualOffsets,
        timeoutMs: route.timeoutMs,
        graceMs: settings.timeoutGraceMs,
        initialized: false,
      };
      this.#instances.set(key, inst);
    }
    return inst;
  }

  #route(group: string, topic: string): TopicRoute {
    const route = this.#app.route(group, topic);
    if (!route) throw new RouteNotFoundError(group, topic);
    return route;
  }

  /** The instances of a partition: its one instance, or one per virtual partition (of `lane` only, when given). */
  #instancesOf(group: string, topic: string, partition: number, lane?: Lane): Instance[] {
    const key = partitionKey(group, topic, partition);
    return [...this.#instances.values()].filter((i) => {
      if (i.key !== key && !i.key.startsWith(`${key}#`)) return false;
      const vp = i.ctx.virtualPartition;
      return !lane || vp === null || inLane(vp, lane);
    });
  }

  /**
   * Runs one batch: the window of the partition's records (decoded here,
   * filtered by the route's filter) through consume() on its instance — or,
   * on a topic with `parallel`, split by key into virtual partitions that run
   * concurrently, each on its own instance.
   */
  async runBatch(group: string, topic: string, partition: number, records: FetchedRecords | WireRecords, window: RecordWindow, attempt: number, gate?: Gate, lane?: Lane): Promise<BatchOutcome> {
    const started = performance.now();
    let route: TopicRoute;
    let raw: RawBatch;
    let endOffset: number;
    let filtered: number;
    let parts: Array<{ vp: number | null; raw: RawBatch }>;
    let split: number | undefined;
    try {
      route = this.#route(group, topic);
      const key = partitionKey(group, topic, partition);
      const read = readWindow(records, window, this.#app.group(group)!.settings.checkCrcs, this.#carries.take(key));
      if (read.carry) this.#carries.keep(key, read.carry);
      endOffset = read.endOffset;
      ({ raw, filtered } = applyFilter(read.raw, route));
      parts = route.parallel ? splitByKey(raw, route.parallel, group, resolveDeserializer(route.deserializer), attempt) : [{ vp: null, raw }];
      // A lane runs only its share of the virtual partitions; the others run on other threads.
      // The digest of the whole split lets the merge check that every lane split alike.
      if (lane) {
        split = splitDigest(parts);
        parts = parts.filter((part) => inLane(part.vp!, lane));
      }
      // The filter's drops are counted once per batch, by the first lane.
      if (lane && lane.index > 0) filtered = 0;
    } catch (err) {
      this.#onError?.(err);
      // Bytes that do not decode (BATCH_CORRUPT), or a filter (or parallel.by) that threw: nothing ran.
      return { threadId, commitOffset: null, error: serializeError(err), durationMs: performance.now() - started };
    }
    // Everything filtered out (or nothing in this lane): nothing to run here, the window counts as processed.
    if (raw.offsets.length === 0 || parts.length === 0) return { threadId, commitOffset: endOffset, endOffset, messages: 0, filtered, durationMs: performance.now() - started };
    const runs = await Promise.all(parts.map((part) => this.#runOne(this.#instance(group, topic, partition, part.vp), part.raw, group, attempt, gate)));
    const control = mergeControl(runs.map((r) => r.control));
    let { commitOffset, failed } = route.parallel ? contiguousPrefix(parts, runs, endOffset) : single(runs[0]!, parts[0]!.raw, endOffset);
    // A lane leaves the seek's cap to the merge of all lanes (main/dispatch/lanes.ts): another lane may have failed.
    if (!lane && !failed) commitOffset = capAtSeek(commitOffset, control);
    const messages = parts.reduce((n, part) => n + part.raw.offsets.length, 0);
    const outcome = { threadId, endOffset, messages, filtered, commitOffset, durationMs: performance.now() - started, ...(split !== undefined ? { split } : {}) };
    if (!failed) return { ...outcome, ...(control.pauseMs !== undefined || control.seek !== undefined ? { control } : {}) };
    const err = failed.run.error;
    return {
      ...outcome,
      error: serializeError(err),
      failedOffset: failedOffsetOf(err, failed.raw),
      ...(failed.at !== undefined && Number.isFinite(failed.at) ? { failedAt: failed.at } : {}),
      ...(runs.some((r) => r.stuck) ? { instanceReset: true } : {}),
    };
  }

  /** consume() on one instance (a partition's, or a virtual partition's), with the topic's timeout. */
  async #runOne(inst: Instance, raw: RawBatch, group: string, attempt: number, gate: Gate | undefined): Promise<RunResult> {
    const controller = new AbortController();
    inst.ctx.attempt = attempt;
    inst.ctx.marked = null;
    inst.ctx.signal = controller.signal;
    inst.ctx.pending = [];
    inst.ctx.control = {};
    // The same shared gate for the partition's whole stay here; a new assignment brings a new one (and a new instance).
    if (gate) inst.ctx.gate = new Int32Array(gate.fence);
    inst.ctx.inBatch = true;
    const work = (async () => {
      if (!inst.initialized) {
        await inst.consumer.initialized();
        inst.initialized = true;
      }
      await inst.consumer.consume(new Messages(raw, group, inst.deserialize, attempt));
      // What consume() produced asynchronously must be acknowledged before its offsets may be committed.
      await settlePending(inst.ctx);
    })();
    // An abandoned (timed-out) batch may reject later: that must not crash the thread.
    work.finally(() => (inst.ctx.inBatch = false)).catch(() => {});
    try {
      if (inst.timeoutMs === undefined) await work;
      else await this.#withTimeout(work, inst, controller);
      return { instance: inst, marked: inst.ctx.marked, control: inst.ctx.control, stuck: false };
    } catch (err) {
      this.#onError?.(err);
      return { instance: inst, marked: inst.ctx.marked, control: {}, error: err, stuck: err instanceof JobTimeoutError && err.stuck };
    }
  }

  /**
   * Waits for `work` up to the topic's timeout; then aborts the consumer's
   * signal and waits up to the grace period so the next batch never overlaps
   * this one. If it is still running after that, the instance is dropped
   * (the next batch gets a fresh one) — its stray promise is abandoned.
   */
  async #withTimeout(work: Promise<void>, inst: Instance, controller: AbortController): Promise<void> {
    const timeoutMs = inst.timeoutMs!;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    try {
      if ((await Promise.race([work.then(() => 'done' as const), expired])) === 'done') return;
    } finally {
      clearTimeout(timer);
    }
    controller.abort(new JobTimeoutError(timeoutMs));
    const grace = new Promise<'stuck'>((resolve) => (timer = setTimeout(() => resolve('stuck'), inst.graceMs)));
    const settled = await Promise.race([work.then(() => 'settled' as const, () => 'settled' as const), grace]);
    clearTimeout(timer);
    if (settled === 'stuck') {
      this.#instances.delete(inst.key);
      throw new JobTimeoutError(timeoutMs, true);
    }
    throw new JobTimeoutError(timeoutMs);
  }

  /** Runs eofed() on the partition's instance (if it has one that ran a batch); what it marks is committed (a virtual partition's marks are not). */
  async eofed(group: string, topic: string, partition: number, lane?: Lane): Promise<HookOutcome> {
    const out: HookOutcome = { threadId, commits: [], errors: [] };
    await Promise.all(this.#instancesOf(group, topic, partition, lane).map((inst) => this.#hook(inst, 'eofed', out)));
    return out;
  }

  /** Runs revoked() and drops the instance (a later assignment gets a fresh one); a lane: only its virtual partitions'. */
  async revoke(group: string, topic: string, partition: number, lane?: Lane): Promise<HookOutcome> {
    const out: HookOutcome = { threadId, commits: [], errors: [] };
    const all = this.#instancesOf(group, topic, partition, lane);
    for (const inst of all) this.#instances.delete(inst.key);
    this.#carries.drop(partitionKey(group, topic, partition));
    await Promise.all(all.map((inst) => this.#hook(inst, 'revoked', out)));
    return out;
  }

  /** Runs shutdown() on every instance (in parallel) and drops them all. */
  async shutdown(): Promise<HookOutcome> {
    const out: HookOutcome = { threadId, commits: [], errors: [] };
    const all = [...this.#instances.values()];
    this.#instances.clear();
    this.#carries.clear();
    await Promise.all(all.map((inst) => this.#hook(inst, 'shutdown', out)));
    return out;
  }

  async #hook(inst: Instance, hook: 'revoked' | 'shutdown' | 'eofed', out: HookOutcome): Promise<void> {
    const { consumerGroup: group, topic, partition } = contextOf(inst.consumer);
    inst.ctx.marked = null;
    inst.ctx.pending = [];
    try {
      // An instance that never got a batch was never initialized: nothing to tear down.
      if (inst.initialized) await inst.consumer[hook]();
    } catch (err) {
      this.#onError?.(err);
      out.errors.push({ group, topic, partition, error: serializeError(err) });
    }
    try {
      await settlePending(inst.ctx);
    } catch (err) {
      out.errors.push({ group, topic, partition, error: serializeError(err) });
      return; // what it marked is not committed: its output was not acknowledged
    }
    // A virtual partition's mark says nothing of the other virtual partitions' messages below it
    // (one may have failed there, or, with manualOffsets, not marked them yet): not committed.
    if (inst.ctx.virtualPartition !== null) return;
    if (inst.ctx.marked !== null) out.commits.push({ group, topic, partition, offset: inst.ctx.marked });
  }
}
