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
 *    after a backoff, seeks kafkajs back to the first unprocessed offset.
 */
import type { ConsumerGroupRoute, TopicRoute } from '../app/config.ts';
import { ConsumerError, serializeError, type SerializedError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { RawBatch } from '../messages/raw-batch.ts';
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
  attempt = 1;
  paused = false;
  retryTimer: NodeJS.Timeout | null = null;
  revoked = false;
  processedMessages = 0;
  lastError: SerializedError | null = null;
  constructor(
    readonly route: TopicRoute,
    readonly partition: number,
  ) {}
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
  /** Called after each successful batch with its message count. */
  onProcessed?: (route: TopicRoute, partition: number, messages: number, outcome: BatchOutcome) => void;
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
    if (state.retryTimer) return; // a seek back is pending; kafkajs will deliver these offsets again
    const startOffset = state.fetchPosition ?? raw.offsets[0] ?? nextOffset;
    state.fetchPosition = nextOffset;
    state.queue.push({ raw, startOffset, nextOffset });
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
    while (!state.inFlight && !state.retryTimer && !state.revoked && !this.#stopping) {
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
      state.inFlight = run.then(
        (outcome) => this.#completed(state, batch, outcome),
        (err) => this.#failed(state, batch, serializeError(err), null),
      );
    }
  }

  #completed(state: PartitionState, batch: QueuedBatch, outcome: BatchOutcome): void {
    state.inFlight = null;
    if (state.revoked) return;
    if (outcome.error) {
      this.#failed(state, batch, outcome.error, outcome.commitOffset);
      return;
    }
    if (outcome.commitOffset !== null) this.#deps.offsets.markProcessed(state.route.topic, state.partition, outcome.commitOffset);
    state.attempt = 1;
    state.lastError = null;
    state.processedMessages += batch.raw.offsets.length;
    this.#deps.onProcessed?.(state.route, state.partition, batch.raw.offsets.length, outcome);
    this.#pump(state);
  }

  #failed(state: PartitionState, batch: QueuedBatch, error: SerializedError, commitOffset: number | null): void {
    state.inFlight = null;
    if (state.revoked) return;
    const { topic } = state.route;
    if (commitOffset !== null) this.#deps.offsets.markProcessed(topic, state.partition, commitOffset);
    const { initialMs, maxMs } = this.#deps.group.settings.retryBackoff;
    const delay = Math.min(maxMs, initialMs * 2 ** (state.attempt - 1));
    // Retry from the first offset not yet processed (marked messages count as processed).
    const from = Math.max(batch.startOffset, this.#deps.offsets.processed(topic, state.partition) ?? batch.startOffset);
    state.lastError = error;
    this.#deps.logger.error(
      { err: new ConsumerError(error.message, error.name, error.stack, error.code), group: state.route.group, topic, partition: state.partition, attempt: state.attempt, retryFrom: from, retryInMs: delay },
      `consume failed for ${topic}/${state.partition}; retrying from offset ${from} in ${delay} ms`,
    );
    state.attempt += 1;
    state.queue.length = 0;
    if (!state.paused) {
      state.paused = true;
      this.#deps.fetch.pause(topic, state.partition);
    }
    state.retryTimer = setTimeout(() => {
      state.retryTimer = null;
      if (state.revoked || this.#stopping) return;
      state.fetchPosition = from;
      this.#deps.fetch.seek(topic, state.partition, from);
      state.paused = false;
      this.#deps.fetch.resume(topic, state.partition);
    }, delay);
  }

  /** Assignment after a (re)join: partitions not in it are revoked. */
  async assigned(assignment: Record<string, number[]>): Promise<void> {
    const keep = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) for (const p of partitions) keep.add(pkey(topic, p));
    const gone = [...this.#partitions.entries()].filter(([k]) => !keep.has(k)).map(([, s]) => s);
    await Promise.all(gone.map((s) => this.revoke(s.route.topic, s.partition)));
    // kafkajs forgets pauses across a rejoin; re-apply the ones we still need.
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
    if (state.inFlight) await withTimeout(state.inFlight, waitMs);
    try {
      const hook = await this.#deps.executorFor(state.route).revoke(state.route, partition);
      for (const e of hook?.errors ?? []) this.#deps.logger.error({ err: e.error, topic, partition }, 'revoked() failed');
    } catch (err) {
      this.#deps.logger.error({ err, topic, partition }, 'revoke failed');
    }
    this.#deps.offsets.forget(topic, partition);
    this.#deps.logger.info({ group: state.route.group, topic, partition }, 'partition revoked');
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
        retrying: s.retryTimer !== null || s.attempt > 1,
        attempt: s.attempt,
      }))
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }
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
