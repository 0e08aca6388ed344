/**
 * Per-partition scheduling for one consumer group.
 *
 * Hot path: the fetcher calls `accept()` synchronously for every batch and
 * returns to kafkajs at once; the scheduler queues the batch and dispatches it
 * when the partition has nothing in flight. Invariants:
 *  - one batch in flight per partition, batches in offset order;
 *  - at most `prefetch` batches queued per partition; reaching that pauses the
 *    partition in kafkajs, draining below it resumes it (memory is bounded by
 *    prefetch × maxBytesPerPartition per partition, whatever the backlog);
 *  - the processed watermark only moves when a batch (or a marked message)
 *    completes, so commits never pass unprocessed offsets;
 *  - a failed batch pauses its partition, drops what was queued behind it and,
 *    after a backoff, seeks kafkajs back to the first unprocessed offset;
 *  - with a dead-letter topic, a message that keeps failing is found (from the
 *    error, or by re-running the batch one message at a time: "isolation"),
 *    produced to the DLQ, and only once Kafka acknowledged that write does
 *    the offset move past it;
 *  - when a worker thread dies, its partitions restart from their processed
 *    watermark on a live thread with fresh consumer instances.
 */
import type { ConsumerGroupRoute, TopicRoute } from '../app/config.ts';
import { ConsumerError, serializeError, type SerializedError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { RawBatch } from '../messages/raw-batch.ts';
import type { DeadLetterDispatcher } from './dead-letter.ts';
import type { Executor } from './executors.ts';
import type { OffsetTracker } from './offset-tracker.ts';
import type { BatchOutcome } from './wire.ts';

/** What the scheduler asks of the fetcher (kafkajs consumer). */
export interface FetchControl {
  pause(topic: string, partition: number): void;
  resume(topic: string, partition: number): void;
  seek(topic: string, partition: number, offset: number): void;
}

interface QueuedBatch {
  raw: RawBatch;
  /** First offset this batch covers (previous batch's nextOffset, or its first message). */
  startOffset: number;
  nextOffset: number;
}

class PartitionState {
  readonly queue: QueuedBatch[] = [];
  inFlight: Promise<void> | null = null;
  /** Offsets below this were already accepted: the fetcher drops them (re-fetch after a rebalance). */
  fetchPosition: number | null = null;
  /** The first offset this process accepted for the partition (where a lost instance restarts if nothing was processed). */
  firstOffset: number | null = null;
  attempt = 1;
  paused = false;
  /** Set while waiting to seek back (retry backoff) or while a dead-letter write is pending: nothing is dispatched. */
  retryTimer: NodeJS.Timeout | null = null;
  deadLettering = false;
  /** While set, offsets below it run one message per batch, to find the poison message. */
  isolateUntil: number | null = null;
  /** Dead-lettered offsets to drop when the messages before them are delivered again. */
  readonly skip = new Set<number>();
  revoked = false;
  processedMessages = 0;
  lastError: SerializedError | null = null;
  constructor(
    readonly route: TopicRoute,
    readonly partition: number,
  ) {}

  get blocked(): boolean {
    return this.retryTimer !== null || this.deadLettering;
  }
}

export interface FailureInfo {
  /** Offset to commit anyway (messages marked before the failure). */
  commitOffset: number | null;
  failedOffset?: number | undefined;
  /** The consumer instance is gone (thread died, or dropped after a stuck timeout): restart from the processed watermark. */
  instanceLost: boolean;
  /** Whether this failure counts toward maxRetries (a thread dying under a batch that did not cause it does not). */
  counts: boolean;
}

export interface PartitionStatus {
  topic: string;
  partition: number;
  thread: number | 'inline' | undefined;
  processedMessages: number;
  processedOffset: number | undefined;
  committedOffset: number | undefined;
  queuedBatches: number;
  inFlight: boolean;
  paused: boolean;
  retrying: boolean;
  attempt: number;
}

export interface SchedulerDeps {
  group: ConsumerGroupRoute;
  executorFor: (route: TopicRoute) => Executor;
  fetch: FetchControl;
  offsets: OffsetTracker;
  logger: Logger;
  /** Produces poison messages to dead-letter topics (routes with `deadLetter`). */
  deadLetters?: DeadLetterDispatcher;
  /** Called after each successful batch with its message count. */
  onProcessed?: (route: TopicRoute, partition: number, messages: number, outcome: BatchOutcome) => void;
  /** Called for every failed batch (the outcome is absent when its thread died under it). */
  onFailed?: (route: TopicRoute, partition: number, error: SerializedError, outcome: BatchOutcome | undefined) => void;
  /** Called when a partition is sent back to re-process (after a backoff, or to isolate a poison message). */
  onRetry?: (route: TopicRoute, partition: number) => void;
  /** Called after a message was acknowledged by its dead-letter topic. */
  onDeadLettered?: (route: TopicRoute, partition: number, offset: number) => void;
}


function pkey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class Scheduler {
  readonly #deps: SchedulerDeps;
  readonly #partitions = new Map<string, PartitionState>();
  #stopping = false;

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
  }

  /** Offsets below the returned one were already accepted for this partition. */
  fetchPosition(topic: string, partition: number): number | null {
    return this.#partitions.get(pkey(topic, partition))?.fetchPosition ?? null;
  }

  /** Takes a fetched batch (possibly emptied by the filter) that ends just before `nextOffset`. */
  accept(route: TopicRoute, raw: RawBatch, nextOffset: number): void {
    if (this.#stopping) return;
    const state = this.#state(route, raw.partition);
    if (state.blocked) return; // a seek back is pending; kafkajs will deliver these offsets again
    const startOffset = state.fetchPosition ?? raw.offsets[0] ?? nextOffset;
    state.firstOffset ??= startOffset;
    state.fetchPosition = nextOffset;
    if (state.skip.size > 0) raw = withoutOffsets(raw, state.skip);
    if (state.isolateUntil !== null && raw.offsets.length > 1 && raw.offsets[0]! < state.isolateUntil) {
      state.queue.push(...isolate(raw, startOffset, nextOffset, state.isolateUntil));
    } else {
      state.queue.push({ raw, startOffset, nextOffset });
    }
    if (state.queue.length >= this.#deps.group.settings.prefetch && !state.paused) {
      state.paused = true;
      this.#deps.fetch.pause(route.topic, raw.partition);
    }
    this.#pump(state);
  }

  #state(route: TopicRoute, partition: number): PartitionState {
    const k = pkey(route.topic, partition);
    let s = this.#partitions.get(k);
    if (!s) {
      s = new PartitionState(route, partition);
      this.#partitions.set(k, s);
    }
    return s;
  }

  #pump(state: PartitionState): void {
    while (!state.inFlight && !state.blocked && !state.revoked && !this.#stopping) {
      const batch = state.queue.shift();
      if (!batch) return;
      if (state.paused && state.queue.length < this.#deps.group.settings.prefetch) {
        state.paused = false;
        this.#deps.fetch.resume(state.route.topic, state.partition);
      }
      if (batch.raw.offsets.length === 0) {
        // Everything was filtered out: nothing to run, but the offsets count as processed.
        this.#deps.offsets.markProcessed(state.route.topic, state.partition, batch.nextOffset);
        continue;
      }
      const executor = this.#deps.executorFor(state.route);
      const run = executor.run(state.route, batch.raw, state.attempt, batch.nextOffset);
      state.inFlight = run
        .then(
          (outcome) => this.#completed(state, batch, outcome),
          // The run never returned: its thread died. The instance is gone; this batch may
          // not be the culprit (every batch on that thread fails alike), so it does not count.
          (err) => {
            const error = serializeError(err);
            if (!state.revoked) this.#deps.onFailed?.(state.route, state.partition, error, undefined);
            this.#failed(state, batch, error, { commitOffset: null, instanceLost: true, counts: false });
          },
        )
        .catch((err: unknown) => {
          // A bug in the bookkeeping above must not become an unhandled rejection nor wedge the partition.
          state.inFlight = null;
          this.#deps.logger.error({ err, topic: state.route.topic, partition: state.partition }, 'scheduler failed handling a batch result');
        });
    }
  }

  #completed(state: PartitionState, batch: QueuedBatch, outcome: BatchOutcome): void {
    state.inFlight = null;
    if (state.revoked) return;
    if (outcome.error) {
      this.#deps.onFailed?.(state.route, state.partition, outcome.error, outcome);
      this.#failed(state, batch, outcome.error, { commitOffset: outcome.commitOffset, failedOffset: outcome.failedOffset, instanceLost: outcome.instanceReset === true, counts: true });
      return;
    }
    if (outcome.commitOffset !== null) this.#deps.offsets.markProcessed(state.route.topic, state.partition, outcome.commitOffset);
    state.attempt = 1;
    state.lastError = null;
    if (state.isolateUntil !== null && batch.nextOffset >= state.isolateUntil) state.isolateUntil = null;
    for (const o of state.skip) if (o < batch.nextOffset) state.skip.delete(o);
    state.processedMessages += batch.raw.offsets.length;
    this.#deps.onProcessed?.(state.route, state.partition, batch.raw.offsets.length, outcome);
    this.#pump(state);
  }

  #failed(state: PartitionState, batch: QueuedBatch, error: SerializedError, info: FailureInfo): void {
    state.inFlight = null;
    if (state.revoked) return;
    const { topic, deadLetter } = state.route;
    const { partition } = state;
    if (info.commitOffset !== null) this.#deps.offsets.markProcessed(topic, partition, info.commitOffset);
    const processed = this.#deps.offsets.processed(topic, partition);
    // A live instance keeps what it buffered, so retry the failed batch itself; a lost
    // instance lost its buffer too, so go back to what was processed (marked) for sure.
    const from = info.instanceLost ? (processed ?? batch.startOffset) : Math.max(batch.startOffset, processed ?? batch.startOffset);
    state.lastError = error;
    state.queue.length = 0;
    this.#pause(state);

    const malformed = error.code === 'PAYLOAD_INVALID';
    const exhausted = deadLetter !== undefined && info.counts && (state.attempt > deadLetter.maxRetries || (malformed && !deadLetter.retryMalformed));
    if (exhausted && this.#deps.deadLetters) {
      const index = info.failedOffset !== undefined ? batch.raw.offsets.indexOf(info.failedOffset) : batch.raw.offsets.length === 1 ? 0 : -1;
      if (index >= 0) {
        this.#logFailure(state, error, `moving ${topic}/${partition}@${batch.raw.offsets[index]} to dead-letter topic ${deadLetter.topic} after ${state.attempt} attempt(s)`);
        this.#deadLetter(state, batch, index, error, state.attempt, from, 1);
        return;
      }
      // Which message fails is unknown: run the batch again one message at a time to find it.
      state.isolateUntil = batch.nextOffset;
      state.attempt = 1;
      this.#logFailure(state, error, `batch ${topic}/${partition}@${batch.startOffset}-${batch.nextOffset - 1} exhausted its retries; re-running it one message at a time from ${from} to find the failing message`);
      this.#deps.onRetry?.(state.route, partition);
      this.#seekLater(state, from, 0);
      return;
    }
    const { initialMs, maxMs } = state.route.retryBackoff;
    const delay = Math.min(maxMs, initialMs * 2 ** (state.attempt - 1));
    this.#logFailure(state, error, `${info.instanceLost ? 'consumer instance lost' : 'consume failed'} for ${topic}/${partition}; retrying from offset ${from} in ${delay} ms`, { attempt: state.attempt, retryFrom: from, retryInMs: delay });
    if (info.counts) state.attempt += 1;
    this.#deps.onRetry?.(state.route, partition);
    this.#seekLater(state, from, delay);
  }

  #logFailure(state: PartitionState, error: SerializedError, msg: string, extra: Record<string, unknown> = {}): void {
    this.#deps.logger.error(
      { err: new ConsumerError(error.message, error.name, error.stack, error.code), topic: state.route.topic, partition: state.partition, ...extra },
      msg,
    );
  }

  #pause(state: PartitionState): void {
    if (!state.paused) {
      state.paused = true;
      this.#deps.fetch.pause(state.route.topic, state.partition);
    }
  }

  /** After `delay`, re-reads the partition from `offset`: kafkajs seeks there and the partition resumes. */
  #seekLater(state: PartitionState, offset: number, delay: number): void {
    if (state.retryTimer) clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(() => {
      state.retryTimer = null;
      if (state.revoked || this.#stopping) return;
      this.#seekNow(state, offset);
    }, delay);
  }

  #seekNow(state: PartitionState, offset: number): void {
    state.queue.length = 0;
    state.fetchPosition = offset;
    this.#deps.fetch.seek(state.route.topic, state.partition, offset);
    state.paused = false;
    this.#deps.fetch.resume(state.route.topic, state.partition);
  }

  /**
   * Produces the poison message to the dead-letter topic; only after Kafka's
   * acknowledgement does the watermark move past it. A failed write keeps the
   * partition paused and is retried with backoff, forever if need be.
   */
  #deadLetter(state: PartitionState, batch: QueuedBatch, index: number, error: SerializedError, attempts: number, from: number, writeAttempt: number): void {
    state.deadLettering = true;
    const offset = batch.raw.offsets[index]!;
    this.#deps.deadLetters!.dispatch({ route: state.route, raw: batch.raw, index, error, attempts }).then(
      () => {
        state.deadLettering = false;
        if (state.revoked) return;
        this.#deps.onDeadLettered?.(state.route, state.partition, offset);
        state.attempt = 1;
        state.lastError = null;
        if (state.isolateUntil !== null && offset + 1 >= state.isolateUntil) state.isolateUntil = null;
        // Messages before the poison one in its batch may not have been processed
        // (a consumer that writes at the end of consume()): run them again, minus it.
        let resumeAt = offset + 1;
        if (from < offset) {
          state.skip.add(offset);
          resumeAt = from;
        } else {
          this.#deps.offsets.markProcessed(state.route.topic, state.partition, offset + 1);
        }
        if (!this.#stopping) this.#seekNow(state, resumeAt);
      },
      (err: unknown) => {
        if (state.revoked || this.#stopping) {
          state.deadLettering = false;
          return;
        }
        const { initialMs, maxMs } = state.route.retryBackoff;
        const delay = Math.min(maxMs, initialMs * 2 ** (writeAttempt - 1));
        this.#deps.logger.error({ err, topic: state.route.topic, partition: state.partition, offset, retryInMs: delay }, `dead-letter write failed; partition stays paused, retrying in ${delay} ms`);
        setTimeout(() => this.#deadLetter(state, batch, index, error, attempts, from, writeAttempt + 1), delay);
      },
    );
  }

  /**
   * The thread this partition ran on died: its consumer instance (and any
   * state it buffered) is gone. A batch in flight fails on its own; an idle
   * partition restarts from its processed watermark on a live thread.
   */
  threadLost(topic: string, partition: number): void {
    const state = this.#partitions.get(pkey(topic, partition));
    if (!state || state.inFlight || state.revoked || state.deadLettering) return;
    const from = this.#deps.offsets.processed(topic, partition) ?? state.firstOffset;
    if (from === null) return; // nothing was ever accepted: nothing to redo
    this.#pause(state);
    this.#seekLater(state, from, 0);
  }

  /** Assignment after a (re)join: partitions not in it are revoked. */
  async assigned(assignment: Record<string, number[]>): Promise<void> {
    const keep = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) for (const p of partitions) keep.add(pkey(topic, p));
    const gone = [...this.#partitions.entries()].filter(([k]) => !keep.has(k)).map(([, s]) => s);
    await Promise.all(gone.map((s) => this.revoke(s.route.topic, s.partition)));
    // A kafkajs consumer that restarted after a crash starts with no pauses; re-apply ours.
    for (const s of this.#partitions.values()) if (s.paused) this.#deps.fetch.pause(s.route.topic, s.partition);
  }

  /**
   * Stops the partition: drops queued batches, waits (bounded) for the batch
   * in flight, runs revoked() on its instance and forgets its offsets.
   */
  async revoke(topic: string, partition: number, waitMs = this.#deps.group.settings.sessionTimeoutMs): Promise<void> {
    const k = pkey(topic, partition);
    const state = this.#partitions.get(k);
    if (!state) return;
    this.#partitions.delete(k);
    state.revoked = true;
    state.queue.length = 0;
    if (state.retryTimer) clearTimeout(state.retryTimer);
    state.retryTimer = null;
    // kafkajs keeps a partition's pause across reassignments: a partition paused here and
    // assigned back later would never be fetched again, since its next state starts unpaused.
    if (state.paused) {
      state.paused = false;
      this.#deps.fetch.resume(topic, partition);
    }
    if (state.inFlight) await withTimeout(state.inFlight, waitMs);
    try {
      const hook = await this.#deps.executorFor(state.route).revoke(state.route, partition);
      for (const e of hook?.errors ?? []) this.#deps.logger.error({ err: e.error, topic, partition }, 'revoked() failed');
    } catch (err) {
      this.#deps.logger.error({ err, topic, partition }, 'revoke failed');
    }
    this.#deps.offsets.forget(topic, partition);
    this.#deps.logger.info({ topic, partition }, 'partition revoked');
  }

  /** Graceful stop: no more dispatching; queued batches are dropped (uncommitted, so re-delivered); waits for in-flight ones. */
  async drain(deadline: number): Promise<void> {
    this.#stopping = true;
    const inFlight: Array<Promise<void>> = [];
    for (const s of this.#partitions.values()) {
      s.queue.length = 0;
      if (s.retryTimer) clearTimeout(s.retryTimer);
      s.retryTimer = null;
      if (s.inFlight) inFlight.push(s.inFlight);
    }
    await withTimeout(Promise.all(inFlight), Math.max(0, deadline - Date.now()));
  }

  /** Partitions with work still running (for shutdown diagnostics). */
  busy(): string[] {
    return [...this.#partitions.values()].filter((s) => s.inFlight).map((s) => `${s.route.group}/${s.route.topic}/${s.partition}`);
  }

  /** Totals over the partitions (cheap; read on every metrics scrape). */
  summary(): { paused: number; inFlight: number; queued: number } {
    let paused = 0;
    let inFlight = 0;
    let queued = 0;
    for (const s of this.#partitions.values()) {
      if (s.paused) paused += 1;
      if (s.inFlight) inFlight += 1;
      queued += s.queue.length;
    }
    return { paused, inFlight, queued };
  }

  status(): PartitionStatus[] {
    return [...this.#partitions.values()]
      .map((s) => ({
        topic: s.route.topic,
        partition: s.partition,
        thread: this.#deps.executorFor(s.route).threadOf(s.route, s.partition),
        processedMessages: s.processedMessages,
        processedOffset: this.#deps.offsets.processed(s.route.topic, s.partition),
        committedOffset: this.#deps.offsets.committed(s.route.topic, s.partition),
        queuedBatches: s.queue.length,
        inFlight: s.inFlight !== null,
        paused: s.paused,
        retrying: s.blocked || s.attempt > 1,
        attempt: s.attempt,
      }))
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }
}

/** The batch without the given offsets (dead-lettered messages delivered again). */
function withoutOffsets(raw: RawBatch, drop: Set<number>): RawBatch {
  const keep: number[] = [];
  raw.offsets.forEach((o, i) => {
    if (!drop.has(o)) keep.push(i);
  });
  return keep.length === raw.offsets.length ? raw : pickRows(raw, keep);
}

/** Splits a batch into one-message batches below `until` (the rest stays one batch). */
function isolate(raw: RawBatch, startOffset: number, nextOffset: number, until: number): QueuedBatch[] {
  const out: QueuedBatch[] = [];
  let start = startOffset;
  for (let i = 0; i < raw.offsets.length; i++) {
    const offset = raw.offsets[i]!;
    if (offset >= until) {
      out.push({ raw: slice(raw, i, raw.offsets.length), startOffset: start, nextOffset });
      return out;
    }
    const last = i === raw.offsets.length - 1;
    const end = last ? nextOffset : offset + 1;
    out.push({ raw: slice(raw, i, i + 1), startOffset: start, nextOffset: end });
    start = end;
  }
  return out;
}

function slice(raw: RawBatch, from: number, to: number): RawBatch {
  return pickRows(raw, Array.from({ length: to - from }, (_, k) => from + k));
}

/** A batch of the given rows of `raw`, every column kept in step. */
function pickRows(raw: RawBatch, rows: number[]): RawBatch {
  const pick = <T>(col: T[]) => rows.map((i) => col[i]!);
  return { ...raw, offsets: pick(raw.offsets), timestamps: pick(raw.timestamps), keys: pick(raw.keys), values: pick(raw.values), headers: pick(raw.headers) };
}

async function withTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
