/**
 * Per-partition scheduling for one consumer group.
 *
 * Hot path: the group calls `accept()` synchronously for every fetched
 * record set and returns to kafkajs at once; the scheduler queues it as one
 * window of offsets and, when the partition has nothing in flight, sends the
 * window to its executor, which runs at most `maxMessages` of it and says
 * where it stopped (the rest runs next). Nothing here decodes records, except
 * on the failure path. Invariants:
 *  - one batch in flight per partition, batches in offset order;
 *  - at most `prefetch` fetched record sets queued per partition; reaching
 *    that pauses the partition in kafkajs, draining below it resumes it
 *    (memory is bounded by prefetch × maxBytesPerPartition per partition plus
 *    one fetch, whatever the backlog);
 *  - the processed watermark only moves when a batch (or a marked message)
 *    completes, so commits never pass unprocessed offsets;
 *  - rebalance: `hold()` (the group is rebalancing) stops dispatching and
 *    fences every partition, so a batch already handed to a busy thread but
 *    not started never starts (see Gate in wire.ts); `assigned()` then drops
 *    the partitions that went elsewhere and releases the rest. So a moved
 *    partition re-delivers at most its one started batch (≤ maxMessages);
 *  - a failed batch is retried from memory (no re-fetch): after a backoff the
 *    unprocessed rest of it runs again, ahead of what is queued behind it;
 *  - with a dead-letter topic, the failing message is known from the error
 *    (PayloadError / error.offset), from the consumer's marks (the first
 *    unmarked message, as Karafka does), or by running the batch again one
 *    message at a time ("isolation"); each call that contained a message
 *    counts as one of its attempts, and after `maxRetries + 1` calls it is
 *    produced to the DLQ. Only once Kafka acknowledged that write does the
 *    offset move past it;
 *  - when a worker thread dies, its partitions restart from their processed
 *    watermark with fresh consumer instances (re-fetched from Kafka when that
 *    watermark is behind what is still in memory).
 */
import type { ConsumerGroupRoute, TopicRoute } from '../../config/resolve.ts';
import { BatchCorruptError, ConsumerError, serializeError, type SerializedError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { RawBatch } from '../../protocol/batch-codec.ts';
import type { FetchedRecords } from '../../protocol/records.ts';
import { releaseRecordSlot } from '../../kafka/record-slots.ts';
import { topicPartitionKey as pkey } from '../../protocol/partition-id.ts';
import { GATE_RESUME, UNKNOWN_THREAD, type BatchOutcome, type ConsumerControl } from '../../protocol/tasks.ts';
import type { DeadLetterDispatcher } from '../dead-letter.ts';
import type { Executor } from '../dispatch/executor.ts';
import type { FailureReason, Instrumentation, ThreadRef } from '../../events.ts';
import type { OffsetTracker } from '../offsets.ts';
import type { FetchControl } from '../source/batch-source.ts';
import { before, readRecords, restFrom, windowOf, type QueuedBatch } from './batch-slices.ts';
import { PartitionState } from './partition-state.ts';
import { backoffMs, deadLetterNow, suspectOf } from './retry-policy.ts';


export interface FailureInfo {
  /** Offset to commit anyway (messages marked before the failure). */
  commitOffset: number | null;
  failedOffset?: number | undefined;
  /** Where the failed run's window ended (what it did not take was not part of the call). */
  endOffset?: number | undefined;
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
  /** The partition's records from this offset failed to read (BATCH_CORRUPT): fetched again with backoff, nothing past them runs. */
  corruptFrom: number | undefined;
}

export interface SchedulerDeps {
  group: ConsumerGroupRoute;
  executorFor: (route: TopicRoute) => Executor;
  /** Pausing, resuming and seeking partitions at the source. */
  fetch: FetchControl;
  offsets: OffsetTracker;
  logger: Logger;
  /** Produces poison messages to dead-letter topics (routes with `deadLetter`). */
  deadLetters?: DeadLetterDispatcher | undefined;
  /** Where the scheduler reports what happens to batches and partitions. */
  events: Instrumentation;
}

/** The metrics' failure reason: bounded, unlike error codes (user errors bring their own). */
function failureReason(code: string | undefined, thread: number | 'inline' | undefined): FailureReason {
  if (thread === undefined || code === 'WORKER_FAILED') return 'thread_lost';
  if (code === 'JOB_TIMEOUT') return 'timeout';
  if (code === 'PAYLOAD_INVALID') return 'malformed';
  if (code === 'BATCH_CORRUPT') return 'corrupt';
  return 'error';
}

/** A record set nobody here will read again: its shared slot may be reused. */
function releaseRecords(records: FetchedRecords): void {
  if (records.kind === 'raw' && records.slot) releaseRecordSlot(records.slot);
}

export class Scheduler {
  readonly #deps: SchedulerDeps;
  readonly #partitions = new Map<string, PartitionState>();
  #stopping = false;
  /** The group is rebalancing: nothing is dispatched until the new assignment is known. */
  #holding = false;

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
  }

  /** Offsets below the returned one were already accepted for this partition. */
  fetchPosition(topic: string, partition: number): number | null {
    return this.#partitions.get(pkey(topic, partition))?.fetchPosition ?? null;
  }

  /** Takes a partition's fetched records, from `fetchedFrom` to just before `nextOffset`. */
  accept(route: TopicRoute, partition: number, records: FetchedRecords, fetchedFrom: number, nextOffset: number): void {
    if (this.#stopping) return releaseRecords(records);
    const state = this.#state(route, partition);
    if (state.seeking) return releaseRecords(records); // kafkajs will deliver these offsets again, from the seek
    const startOffset = state.fetchPosition ?? fetchedFrom;
    if (startOffset >= nextOffset) return releaseRecords(records);
    if (records.kind === 'raw' && records.slot) state.held.add(records);
    state.eofedSent = false; // new records: the end of the log moved
    state.firstOffset ??= startOffset;
    state.fetchPosition = nextOffset;
    state.queue.push({ records, startOffset, nextOffset });
    if (state.queue.length >= this.#deps.group.settings.prefetch) this.#pause(state, 'prefetch');
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
    while (!state.inFlight && !state.blocked && !state.revoked && !this.#stopping && !this.#holding) {
      const batch = state.queue.shift();
      if (!batch) return;
      if (state.paused && state.queue.length < this.#deps.group.settings.prefetch) this.#resume(state);
      const executor = this.#deps.executorFor(state.route);
      const run = executor.run(state.route, state.partition, batch.records, windowOf(batch, this.#maxOf(state, batch), state.skip), state.attempt, state.gate);
      state.running = batch;
      state.inFlight = run
        .then(
          (outcome) => this.#completed(state, batch, outcome),
          // The run never returned: its thread died. The instance is gone; this batch may
          // not be the culprit (every batch on that thread fails alike), so it does not count.
          (err) => {
            const error = serializeError(err);
            if (!state.revoked) this.#emitFailed(state, error, undefined);
            this.#failed(state, batch, error, { commitOffset: null, instanceLost: true, counts: false });
          },
        )
        .catch((err: unknown) => {
          // A bug in the bookkeeping above must not become an unhandled rejection nor wedge the partition.
          state.inFlight = null;
          state.running = null;
          this.#deps.logger.error({ err, topic: state.route.topic, partition: state.partition }, 'scheduler failed handling a batch result');
        })
        .finally(() => this.#sweep(state));
    }
  }

  /** Messages per run: the route's maxMessages, or one at a time while isolating a failure. */
  #maxOf(state: PartitionState, batch: QueuedBatch): number {
    return state.isolateUntil !== null && batch.startOffset < state.isolateUntil ? 1 : state.route.maxMessages;
  }

  #completed(state: PartitionState, batch: QueuedBatch, outcome: BatchOutcome): void {
    state.inFlight = null;
    state.running = null;
    const attempt = state.attempt;
    if (state.revoked) return;
    if (outcome.withdrawn) {
      // Fenced before it started (a rebalance): it runs later, first in line, if the partition stays.
      state.queue.unshift(batch);
      this.#pump(state);
      return;
    }
    if (outcome.error) {
      this.#emitFailed(state, outcome.error, outcome);
      this.#failed(state, batch, outcome.error, { commitOffset: outcome.commitOffset, failedOffset: outcome.failedOffset, endOffset: outcome.endOffset, instanceLost: outcome.instanceReset === true, counts: true });
      return;
    }
    // The run took the window up to endOffset (maxMessages, or one message while isolating): the rest is next.
    const end = Math.min(outcome.endOffset ?? batch.nextOffset, batch.nextOffset);
    if (end < batch.nextOffset) state.queue.unshift(restFrom(batch, end));
    if (outcome.commitOffset !== null) this.#deps.offsets.markProcessed(state.route.topic, state.partition, outcome.commitOffset);
    this.#passed(state, end);
    state.lastError = null;
    state.corruptFrom = null;
    for (const o of state.skip) if (o < end) state.skip.delete(o);
    const messages = outcome.messages ?? 0;
    state.processedMessages += messages;
    this.#deps.events.emit('batch.processed', {
      group: state.route.group,
      topic: state.route.topic,
      partition: state.partition,
      messages,
      filtered: outcome.filtered ?? 0,
      durationMs: outcome.durationMs,
      thread: this.#threadRef(state, outcome.threadId)!,
      attempt,
      nextOffset: end,
    });
    if (outcome.control) this.#applyControl(state, outcome.control, end);
    if (!this.#eofed(state, batch, end)) this.#pump(state);
  }

  /**
   * What consume() asked for, after its batch succeeded: seek first (the
   * queue is dropped and the source re-reads from there; a forward seek counts
   * the skipped offsets as processed), then pause.
   */
  #applyControl(state: PartitionState, control: ConsumerControl, end: number): void {
    const { topic } = state.route;
    if (control.seek !== undefined && control.seek !== end) {
      if (control.seek > end) this.#deps.offsets.markProcessed(topic, state.partition, control.seek);
      this.#deps.logger.debug({ topic, partition: state.partition, from: end, to: control.seek }, 'consumer seeks');
      this.#rewind(state, control.seek, 0);
    }
    if (control.pauseMs !== undefined) this.#userPause(state, control.pauseMs);
  }

  /** this.pause(ms?): nothing is dispatched (nor fetched) until `ms` passed or the consumer's resume() (shared gate). */
  #userPause(state: PartitionState, ms: number | null): void {
    state.userPaused = true;
    this.#pause(state, 'consumer');
    if (state.userPauseTimer) clearTimeout(state.userPauseTimer);
    state.userPauseTimer = ms === null ? null : setTimeout(() => this.#userResume(state), ms);
    // The consumer's resume() bumps the gate's counter and notifies: wait for a change from now on.
    const seen = Atomics.load(state.fence, GATE_RESUME);
    const waited = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string } }).waitAsync(state.fence, GATE_RESUME, seen);
    const wake = () => {
      if (state.userPaused && !state.revoked && Atomics.load(state.fence, GATE_RESUME) !== seen) this.#userResume(state);
    };
    if (waited.async) void (waited.value as Promise<string>).then(wake);
    else wake();
  }

  #userResume(state: PartitionState): void {
    if (!state.userPaused) return;
    state.userPaused = false;
    if (state.userPauseTimer) clearTimeout(state.userPauseTimer);
    state.userPauseTimer = null;
    Atomics.notify(state.fence, GATE_RESUME); // releases a waiter of an earlier pause
    if (state.revoked || this.#stopping) return;
    if (state.paused && !state.seeking && state.queue.length < this.#deps.group.settings.prefetch) this.#resume(state);
    // Still paused, now only because its prefetch is full (or a seek): the scheduler's own pause again, brief.
    else if (state.paused && !state.pausedBriefly) this.#deps.fetch.pause(state.route.topic, state.partition, (state.pausedBriefly = true));
    this.#pump(state);
  }

  /**
   * Topics with `eofed: true`: when a batch ends at the partition's high
   * watermark (as of its fetch) and nothing is queued, eofed() runs on the
   * partition's instance, in line like a batch (nothing overlaps it). True
   * when it was dispatched (it pumps the queue when done).
   */
  #eofed(state: PartitionState, batch: QueuedBatch, end: number): boolean {
    if (!state.route.eofed || state.eofedSent || state.queue.length > 0 || state.blocked || state.revoked || this.#stopping) return false;
    const hw = batch.records.kind === 'raw' ? batch.records.highWatermark : batch.records.raw.highWatermark;
    if (end < hw) return false;
    state.eofedSent = true;
    const { route, partition } = state;
    state.inFlight = this.#deps
      .executorFor(route)
      .eofed(route, partition)
      .then(
        (out) => {
          for (const c of out?.commits ?? []) this.#deps.offsets.markProcessed(c.topic, c.partition, c.offset);
          for (const e of out?.errors ?? []) this.#deps.logger.error({ err: e.error, topic: route.topic, partition }, 'eofed() failed');
        },
        (err: unknown) => this.#deps.logger.error({ err, topic: route.topic, partition }, 'eofed() could not run'),
      )
      .then(() => {
        state.inFlight = null;
        if (!state.revoked) this.#pump(state);
      });
    return true;
  }

  /** The messages before `nextOffset` are done with: the attempt count starts over (or at the isolation's base). */
  #passed(state: PartitionState, nextOffset: number): void {
    if (state.suspect !== null && state.suspect < nextOffset) state.suspect = null;
    if (state.isolateUntil !== null && nextOffset < state.isolateUntil) {
      state.attempt = state.isolationAttempt;
      return;
    }
    state.isolateUntil = null;
    state.attempt = 1;
  }

  #failed(state: PartitionState, batch: QueuedBatch, error: SerializedError, info: FailureInfo): void {
    state.inFlight = null;
    state.running = null;
    if (state.revoked) return;
    const { topic, deadLetter } = state.route;
    const { partition } = state;
    if (info.commitOffset !== null) this.#deps.offsets.markProcessed(topic, partition, info.commitOffset);
    const processed = this.#deps.offsets.processed(topic, partition);
    state.lastError = error;
    const delay = backoffMs(state.route.retryBackoff, state.attempt);

    // A lost instance lost what it buffered too: go back to what was processed (marked) for
    // sure. If that is before this batch, those messages are no longer in memory: re-fetch.
    if (info.instanceLost) {
      const from = processed ?? state.firstOffset ?? batch.startOffset;
      if (from < batch.startOffset) {
        this.#logFailure(state, error, `consumer instance lost for ${topic}/${partition}; re-reading from offset ${from} in ${delay} ms`, { attempt: state.attempt, retryFrom: from, retryInMs: delay });
        if (info.counts) state.attempt += 1;
        this.#emitRetried(state, from, delay, false);
        this.#rewind(state, from, delay);
        return;
      }
    }
    let rest = restFrom(batch, Math.max(batch.startOffset, processed ?? batch.startOffset));
    // Which offsets the rest holds: read here, on the main thread, on this path only.
    let rows: RawBatch | undefined;
    try {
      rows = readRecords(rest, state.skip, this.#deps.group.settings.checkCrcs);
    } catch (err) {
      // Whatever stops the records from being read, they were not processed: never treat them as done.
      error = serializeError(err instanceof BatchCorruptError ? err : new BatchCorruptError(`records of ${topic}/${partition} could not be read: ${(err as Error)?.message ?? String(err)}`));
    }
    let offsets = rows?.offsets ?? [];
    if (error.code === 'BATCH_CORRUPT') {
      state.corruptFrom = rest.startOffset;
      // The bytes do not decode (or fail their CRC): fetch them again from Kafka, as the Java
      // client would have to. Corruption in transit heals; corruption on disk keeps failing, loudly.
      this.#logFailure(state, error, `records of ${topic}/${partition} from offset ${rest.startOffset} are corrupt; fetching them again in ${delay} ms`, { attempt: state.attempt, retryFrom: rest.startOffset, retryInMs: delay });
      state.attempt += 1;
      this.#emitRetried(state, rest.startOffset, delay, false);
      this.#rewind(state, rest.startOffset, delay);
      return;
    }
    if (offsets.length === 0) {
      // Everything in it was marked before the failure: nothing left to run again.
      this.#deps.offsets.markProcessed(topic, partition, rest.nextOffset);
      this.#passed(state, rest.nextOffset);
      this.#pump(state);
      return;
    }
    // Only what the failed call contained is retried as one; what it did not take waits behind it.
    const callEnd = Math.min(info.endOffset ?? offsets[this.#maxOf(state, rest)] ?? rest.nextOffset, rest.nextOffset);
    if (callEnd < rest.nextOffset && callEnd > rest.startOffset) {
      state.queue.unshift(restFrom(rest, callEnd));
      rest = before(rest, callEnd);
      offsets = offsets.filter((o) => o < callEnd);
    }
    const suspect = suspectOf(offsets, { failedOffset: info.failedOffset, marked: info.commitOffset !== null, previous: state.suspect });
    state.suspect = suspect ?? null;

    if (deadLetter && this.#deps.deadLetters && info.counts) {
      if (suspect !== undefined && deadLetterNow(deadLetter, state.attempt, error)) {
        this.#logFailure(state, error, `moving ${topic}/${partition}@${suspect} to dead-letter topic ${deadLetter.topic} after ${state.attempt} attempt(s)`);
        this.#deadLetter(state, rest, rows!, offsets, suspect, error, state.attempt, 1);
        return;
      }
      if (suspect === undefined) {
        // Which message fails is unknown: run the rest one message at a time to find it. This
        // call contained them all, so each isolated message's first run is its next attempt.
        state.attempt += 1;
        state.isolationAttempt = state.attempt;
        state.isolateUntil = rest.nextOffset;
        this.#logFailure(state, error, `batch ${topic}/${partition}@${rest.startOffset}-${rest.nextOffset - 1} failed; re-running it one message at a time in ${delay} ms to find the failing message`, { attempt: state.attempt - 1, retryInMs: delay });
        this.#emitRetried(state, rest.startOffset, delay, true);
        this.#retryLater(state, [rest], delay);
        return;
      }
    }
    this.#logFailure(state, error, `${info.instanceLost ? 'consumer instance lost' : 'consume failed'} for ${topic}/${partition}; retrying from offset ${rest.startOffset} in ${delay} ms`, { attempt: state.attempt, retryFrom: rest.startOffset, retryInMs: delay });
    if (info.counts) state.attempt += 1;
    this.#emitRetried(state, rest.startOffset, delay, false);
    this.#retryLater(state, [rest], delay);
  }

  #logFailure(state: PartitionState, error: SerializedError, msg: string, extra: Record<string, unknown> = {}): void {
    this.#deps.logger.error(
      { err: new ConsumerError(error.message, error.name, error.stack, error.code), topic: state.route.topic, partition: state.partition, ...extra },
      msg,
    );
  }

  #threadRef(state: PartitionState, threadId: number): ThreadRef | undefined {
    if (state.route.backend === 'inline') return 'inline';
    return threadId === UNKNOWN_THREAD ? undefined : threadId;
  }

  /** `outcome` is absent when the batch's thread died under it. */
  #emitFailed(state: PartitionState, error: SerializedError, outcome: BatchOutcome | undefined): void {
    const thread = outcome && (state.route.backend === 'inline' ? 'inline' : outcome.threadId);
    this.#deps.events.emit('batch.failed', {
      group: state.route.group,
      topic: state.route.topic,
      partition: state.partition,
      error,
      reason: failureReason(error.code, thread),
      durationMs: outcome?.durationMs,
      thread: outcome && this.#threadRef(state, outcome.threadId),
      attempt: state.attempt,
    });
  }

  #emitRetried(state: PartitionState, fromOffset: number, delayMs: number, isolating: boolean): void {
    this.#deps.events.emit('batch.retried', { group: state.route.group, topic: state.route.topic, partition: state.partition, attempt: state.attempt, fromOffset, delayMs, isolating });
  }

  #pause(state: PartitionState, reason: 'prefetch' | 'rewind' | 'consumer'): void {
    const briefly = reason !== 'consumer';
    if (state.paused) {
      // The consumer's own pause over the scheduler's: no longer one that ends soon by itself.
      if (state.pausedBriefly && !briefly) this.#deps.fetch.pause(state.route.topic, state.partition, (state.pausedBriefly = false));
      return;
    }
    state.paused = true;
    state.pausedBriefly = briefly;
    this.#deps.fetch.pause(state.route.topic, state.partition, briefly);
    this.#deps.events.emit('partition.paused', { group: state.route.group, topic: state.route.topic, partition: state.partition, reason });
  }

  #resume(state: PartitionState): void {
    state.paused = false;
    this.#deps.fetch.resume(state.route.topic, state.partition);
    this.#deps.events.emit('partition.resumed', { group: state.route.group, topic: state.route.topic, partition: state.partition });
  }

  /**
   * Releases the shared slots of record sets no batch of this partition needs
   * any more: none queued, running or being dead-lettered reads them (see
   * src/kafka/record-slots.ts). Safe at any time: what is still needed stays.
   */
  #sweep(state: PartitionState): void {
    if (state.held.size === 0) return;
    const live = new Set<FetchedRecords>();
    for (const b of state.queue) live.add(b.records);
    if (state.running) live.add(state.running.records);
    if (state.parked) live.add(state.parked.records);
    for (const r of state.held) {
      if (live.has(r)) continue;
      state.held.delete(r);
      releaseRecords(r);
    }
  }

  /** Puts `batches` back at the head of the queue and dispatches again after `delay` (the retry backoff). */
  #retryLater(state: PartitionState, batches: QueuedBatch[], delay: number): void {
    state.queue.unshift(...batches);
    if (state.retryTimer) clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(() => {
      state.retryTimer = null;
      this.#pump(state);
    }, delay);
  }

  /**
   * Re-reads the partition from `offset` (what it needs is no longer in
   * memory): drops what is queued and, after `delay`, seeks kafkajs there.
   */
  #rewind(state: PartitionState, offset: number, delay: number): void {
    state.queue.length = 0;
    this.#sweep(state);
    state.isolateUntil = null;
    state.seeking = true;
    this.#pause(state, 'rewind');
    if (state.retryTimer) clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(() => {
      state.retryTimer = null;
      if (state.revoked || this.#stopping) return;
      state.seeking = false;
      state.fetchPosition = offset;
      this.#deps.fetch.seek(state.route.topic, state.partition, offset);
      if (!state.userPaused) this.#resume(state);
    }, delay);
  }

  /**
   * Produces the poison message to the dead-letter topic; only after Kafka's
   * acknowledgement does the watermark move past it. A failed write keeps the
   * partition waiting and is retried with backoff, forever if need be.
   */
  /** `rows`: the batch's records as the failure path read them (they hold `offset`); `offsets`: those of the failed call. */
  #deadLetter(state: PartitionState, batch: QueuedBatch, rows: RawBatch, offsets: number[], offset: number, error: SerializedError, attempts: number, writeAttempt: number): void {
    state.deadLettering = true;
    state.parked = batch;
    this.#deps.deadLetters!.dispatch({ route: state.route, raw: rows, index: rows.offsets.indexOf(offset), error, attempts }).then(
      () => {
        state.deadLettering = false;
        state.parked = null;
        if (state.revoked) return this.#sweep(state);
        this.#deps.events.emit('dead_letter.written', { group: state.route.group, topic: state.route.topic, partition: state.partition, offset, deadLetterTopic: state.route.deadLetter!.topic, attempts, error });
        state.lastError = null;
        // Messages before the poison one in its batch may not have been processed
        // (a consumer that writes at the end of consume()): they run again, without it.
        const first = offsets[0] === offset;
        if (first) this.#deps.offsets.markProcessed(state.route.topic, state.partition, offset + 1);
        else state.skip.add(offset); // also should the partition be re-read before the watermark passes it
        if (offsets.length === 1) {
          this.#deps.offsets.markProcessed(state.route.topic, state.partition, batch.nextOffset);
          this.#passed(state, batch.nextOffset);
        } else {
          state.queue.unshift(first ? restFrom(batch, offset + 1) : batch);
          this.#passed(state, offset + 1);
        }
        this.#sweep(state);
        this.#pump(state);
      },
      (err: unknown) => {
        if (state.revoked || this.#stopping) {
          state.deadLettering = false;
          state.parked = null;
          this.#sweep(state);
          return;
        }
        const delay = backoffMs(state.route.retryBackoff, writeAttempt);
        this.#deps.logger.error({ err, topic: state.route.topic, partition: state.partition, offset, retryInMs: delay }, `dead-letter write failed; partition stays paused, retrying in ${delay} ms`);
        setTimeout(() => this.#deadLetter(state, batch, rows, offsets, offset, error, attempts, writeAttempt + 1), delay);
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
    if (!state || state.inFlight || state.revoked || state.deadLettering || state.seeking) return;
    const from = this.#deps.offsets.processed(topic, partition) ?? state.firstOffset;
    if (from === null) return; // nothing was ever accepted: nothing to redo
    // The next batch in memory starts right there: a fresh instance simply gets it.
    if ((state.queue[0]?.startOffset ?? state.fetchPosition) === from) return;
    this.#rewind(state, from, 0);
  }

  /**
   * The group is rebalancing (or its kafkajs consumer restarts): which
   * partitions stay is unknown until `assigned()`. Nothing is dispatched
   * meanwhile, and batches handed to threads but not started are withdrawn.
   * Resolves when the batches that had started are done.
   */
  hold(): Promise<void> {
    this.#holding = true;
    const inFlight: Array<Promise<void>> = [];
    for (const s of this.#partitions.values()) {
      s.fenceOff();
      if (s.inFlight) inFlight.push(s.inFlight);
    }
    // Resolves once what had started is done: its offsets can still be committed in this generation.
    return Promise.all(inFlight).then(() => {});
  }

  /**
   * Assignment after a (re)join: partitions not in it are revoked at once
   * (nothing more of theirs starts; their offsets are forgotten, so they are
   * never committed by this member again), the others are released. Resolves
   * once the revoked partitions' in-flight batches and revoked() hooks are done.
   */
  async assigned(assignment: Record<string, number[]>): Promise<void> {
    const keep = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) for (const p of partitions) keep.add(pkey(topic, p));
    const gone = [...this.#partitions.entries()].filter(([k]) => !keep.has(k)).map(([, s]) => s);
    const revoking = gone.map((s) => this.revoke(s.route.topic, s.partition));
    this.#holding = false;
    for (const s of this.#partitions.values()) {
      // A kafkajs consumer that restarted after a crash starts with no pauses; re-apply ours.
      if (s.paused) this.#deps.fetch.pause(s.route.topic, s.partition, s.pausedBriefly);
      this.#pump(s);
    }
    await Promise.all(revoking);
  }

  /**
   * Stops the partition: withdraws what has not started, waits (bounded) for
   * the batch in flight, runs revoked() on its instance. Its offsets are
   * forgotten at once: after a revoke only the new owner commits them.
   */
  async revoke(topic: string, partition: number, waitMs = this.#deps.group.settings.sessionTimeoutMs): Promise<void> {
    const k = pkey(topic, partition);
    const state = this.#partitions.get(k);
    if (!state) return;
    this.#partitions.delete(k);
    state.revoked = true;
    state.markRevoked();
    state.fenceOff();
    if (state.userPauseTimer) clearTimeout(state.userPauseTimer);
    state.userPauseTimer = null;
    state.userPaused = false;
    Atomics.notify(state.fence, GATE_RESUME);
    state.queue.length = 0;
    this.#sweep(state);
    if (state.retryTimer) clearTimeout(state.retryTimer);
    state.retryTimer = null;
    this.#deps.offsets.forget(topic, partition);
    // kafkajs keeps a partition's pause across reassignments: a partition paused here and
    // assigned back later would never be fetched again, since its next state starts unpaused.
    if (state.paused) this.#resume(state);
    if (state.inFlight) await withTimeout(state.inFlight, waitMs);
    try {
      const hook = await this.#deps.executorFor(state.route).revoke(state.route, partition);
      for (const e of hook?.errors ?? []) this.#deps.logger.error({ err: e.error, topic, partition }, 'revoked() failed');
    } catch (err) {
      this.#deps.logger.error({ err, topic, partition }, 'revoke failed');
    }
    this.#deps.events.emit('partition.revoked', { group: state.route.group, topic, partition });
  }

  /** Graceful stop: no more dispatching; queued batches are dropped (uncommitted, so re-delivered); waits for in-flight ones. */
  async drain(deadline: number): Promise<void> {
    this.#stopping = true;
    const inFlight: Array<Promise<void>> = [];
    for (const s of this.#partitions.values()) {
      s.markStopping();
      s.fenceOff();
      s.queue.length = 0;
      this.#sweep(s);
      if (s.retryTimer) clearTimeout(s.retryTimer);
      s.retryTimer = null;
      if (s.userPauseTimer) clearTimeout(s.userPauseTimer);
      s.userPauseTimer = null;
      Atomics.notify(s.fence, GATE_RESUME);
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
        corruptFrom: s.corruptFrom ?? undefined,
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
