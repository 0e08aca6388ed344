/**
 * What the scheduler keeps per partition: its queue, what is in flight, the
 * retry and isolation state, and the fence that withdraws batches handed to
 * a thread but not started (see Gate in src/protocol/tasks.ts).
 */
import type { TopicRoute } from '../../config/resolve.ts';
import type { SerializedError } from '../../errors.ts';
import { GATE_EPOCH, GATE_REVOKED, GATE_SLOTS, GATE_STOPPING, type Gate } from '../../protocol/tasks.ts';
import type { FetchedRecords } from '../../protocol/records.ts';
import type { QueuedBatch } from './batch-slices.ts';

export class PartitionState {
  readonly queue: QueuedBatch[] = [];
  inFlight: Promise<void> | null = null;
  /** The batch in flight (its records are in use until it settles). */
  running: QueuedBatch | null = null;
  /** The batch whose poison message is being dead-lettered (it is queued again after). */
  parked: QueuedBatch | null = null;
  /** Record sets in reusable shared slots that this partition accepted and has not released (Scheduler#sweep). */
  readonly held = new Set<FetchedRecords>();
  /** Offsets below this were already accepted: the source drops them (re-fetch after a rebalance). */
  fetchPosition: number | null = null;
  /** The first offset this process accepted for the partition (where a lost instance restarts if nothing was processed). */
  firstOffset: number | null = null;
  /** Which call of the head batch's messages the next dispatch is (1 = first delivery). */
  attempt = 1;
  /** During isolation: the attempt each isolated message starts at (the calls that already contained it, + 1). */
  isolationAttempt = 1;
  paused = false;
  /** Paused by the scheduler itself (prefetch full, a rewind), to be resumed by it soon: not by the consumer. */
  pausedBriefly = false;
  /** Set during a retry backoff: nothing is dispatched. */
  retryTimer: NodeJS.Timeout | null = null;
  /** Waiting for kafkajs to deliver again from a seek: fetched batches are dropped until then. */
  seeking = false;
  deadLettering = false;
  /** While set, offsets below it run one message per batch, to find the poison message. */
  isolateUntil: number | null = null;
  /** The message a failure of the head batch was pinned on (kept across its retries). */
  suspect: number | null = null;
  /** Dead-lettered offsets to drop when the messages before them are fetched again. */
  readonly skip = new Set<number>();
  revoked = false;
  /** Shared with worker threads: the epoch a batch must still match to run, the revoked flag, resume requests (GATE_*). */
  readonly fence = new Int32Array(new SharedArrayBuffer(4 * GATE_SLOTS));
  /** The consumer paused the partition (this.pause()): nothing is dispatched until it ends. */
  userPaused = false;
  userPauseTimer: NodeJS.Timeout | null = null;
  /** eofed() ran for the current end of the log; new records arm it again. */
  eofedSent = false;
  epoch = 0;
  processedMessages = 0;
  lastError: SerializedError | null = null;
  /** Set while the records from this offset fail to read (BATCH_CORRUPT); cleared when a batch passes. */
  corruptFrom: number | null = null;
  constructor(
    readonly route: TopicRoute,
    readonly partition: number,
  ) {}

  get blocked(): boolean {
    return this.retryTimer !== null || this.deadLettering || this.seeking || this.userPaused;
  }

  get gate(): Gate {
    return { fence: this.fence.buffer as SharedArrayBuffer, epoch: this.epoch };
  }

  /** Withdraws every batch handed out so far that has not started (a new epoch). */
  fenceOff(): void {
    this.epoch = (this.epoch + 1) | 0;
    Atomics.store(this.fence, GATE_EPOCH, this.epoch);
  }

  /** The partition is no longer this process's: a running consume() sees `this.assigned === false`. */
  markRevoked(): void {
    Atomics.store(this.fence, GATE_REVOKED, 1);
  }

  /** The process stops gracefully: a running consume() sees `this.stopping === true`. */
  markStopping(): void {
    Atomics.store(this.fence, GATE_STOPPING, 1);
  }
}
