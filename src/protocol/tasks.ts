/**
 * Everything that crosses the main-thread ↔ worker-thread boundary, typed in
 * one place. Tasks are structured-cloned by Piscina: a raw record set's
 * shared memory is shared, not copied; a packed one's buffer is transferred.
 */
import type { SerializedError } from '../errors.ts';
import type { RecordWindow, WireRecords } from './records.ts';

export interface BatchTask {
  kind: 'batch';
  group: string;
  topic: string;
  partition: number;
  /** 1 on first delivery, 2+ on retries. */
  attempt: number;
  /** The partition's fetched records, and the part of them this batch is. */
  records: WireRecords;
  window: RecordWindow;
  /** The partition's admission gate, shared with the main thread (see Gate). */
  gate: Gate;
  /** Topics with `parallel` spread over threads: this thread runs only its lane's virtual partitions. */
  lane?: Lane;
}

/**
 * One thread's share of a partition's virtual partitions: those with
 * `vp % count === index`. Every lane reads the whole window (it needs every
 * key to split it the same way) and reports on its own virtual partitions;
 * the main thread adds the lanes' outcomes up (main/dispatch/lanes.ts).
 */
export interface Lane {
  index: number;
  count: number;
}

/**
 * Withdrawal of a batch that has not started yet. A task can wait a long
 * time before its thread gets to it (behind other partitions' batches on a
 * busy thread), and nothing can take it back from there. So the main thread
 * keeps one Int32 per partition in shared memory and bumps it to withdraw
 * every batch of that partition handed out so far; the worker runs a batch
 * only if the value still equals the epoch the batch was sent with.
 */
export interface Gate {
  /** Int32Array(GATE_SLOTS) over this buffer: the partition's epoch, revoked flag and resume requests (GATE_*). */
  fence: SharedArrayBuffer;
  /** The epoch this batch was sent in. */
  epoch: number;
}

/**
 * The slots of a partition's shared gate. Shared memory, not messages, for
 * the two signals a consumer needs while it runs: a long consume() reads
 * `this.assigned` without yielding (a synchronous loop sees it too), and
 * `this.resume()` from a timer between batches wakes the main thread
 * (Atomics.waitAsync) without a channel of its own.
 */
export const GATE_EPOCH = 0;
/** 1 once the partition was revoked from this process. */
export const GATE_REVOKED = 1;
/** Bumped by the consumer's resume(); the main thread waits on it while the consumer paused the partition. */
export const GATE_RESUME = 2;
/** 1 once the process is stopping gracefully (a long consume() may end early; what it did not mark is delivered again). */
export const GATE_STOPPING = 3;
export const GATE_SLOTS = 4;

/** True when the batch may still start (its partition was not fenced since it was sent). */
export function admitted(gate: Gate): boolean {
  return Atomics.load(new Int32Array(gate.fence), GATE_EPOCH) === gate.epoch;
}

export interface RevokeTask {
  kind: 'revoke';
  group: string;
  topic: string;
  partition: number;
  /** Only this lane's virtual partitions (two lanes may share a thread after one was lost). */
  lane?: Lane;
}

/** The partition reached the end of its log with nothing left to process: run eofed() on its instance. */
export interface EofedTask {
  kind: 'eofed';
  group: string;
  topic: string;
  partition: number;
  lane?: Lane;
}

/** Sent to every thread: run shutdown() on each instance it holds, then drop them. */
export interface ShutdownTask {
  kind: 'shutdown';
}

/** Makes Piscina start a missing thread (see WorkerPool#kick); answers with the thread id. */
export interface PingTask {
  kind: 'ping';
}

export type WorkerTask = BatchTask | RevokeTask | EofedTask | ShutdownTask | PingTask;

/**
 * The `threadId` of an outcome the main thread made up for a batch whose
 * thread it terminated (the thread never answered, so which id it had is
 * not the point): counted as a timeout, not as a lost thread.
 */
export const UNKNOWN_THREAD = -1;

export interface BatchOutcome {
  /** The worker thread that ran the batch (0 inline; UNKNOWN_THREAD when it was terminated). */
  threadId: number;
  /** The batch never started: its partition was fenced (rebalance or revoke) before its thread got to it. */
  withdrawn?: true;
  /** Offset to commit for this partition after this batch, or null if nothing new may be committed. */
  commitOffset: number | null;
  /** Where the unread rest of the window starts (the window's end when the batch took all of it). */
  endOffset?: number;
  /** Messages consume() got, and messages the route's filter dropped. */
  messages?: number;
  filtered?: number;
  /** Present when consume() (or initialized()) threw. */
  error?: SerializedError;
  /** The offset of the message that failed, when the error says (PayloadError, or an error with an `offset` in this batch). */
  failedOffset?: number;
  /** Virtual partitions: the first offset the failing virtual partition did not finish (lanes are ranked by it). */
  failedAt?: number;
  /**
   * Lanes: a digest of how this thread split the batch (every row's virtual
   * partition, and the rows the filter kept). Every lane must report the same
   * one, or some message ran on no thread or on two (PARALLEL_SPLIT_MISMATCH).
   */
  split?: number;
  /** The consumer instance was dropped (stuck after a timeout); the next batch gets a fresh one. */
  instanceReset?: boolean;
  /** What consume() asked of its partition (applied after a successful batch only). */
  control?: ConsumerControl;
  durationMs: number;
}

/** A consumer's this.pause()/this.seek() during a batch. */
export interface ConsumerControl {
  /** Pause the partition: for this many ms, or (null) until the consumer's resume(). */
  pauseMs?: number | null;
  /** The next batch starts at this offset. */
  seek?: number;
}

/** Offsets marked in revoked()/shutdown() hooks, and hook failures. */
export interface HookOutcome {
  threadId: number;
  commits: Array<{ group: string; topic: string; partition: number; offset: number }>;
  errors: Array<{ group: string; topic: string; partition: number; error: SerializedError }>;
}

export interface PingOutcome {
  threadId: number;
}
