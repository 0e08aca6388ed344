/**
 * Everything that crosses the main-thread ↔ worker-thread boundary, typed in
 * one place. Tasks are structured-cloned by Piscina except `packed`, whose
 * ArrayBuffer is transferred.
 */
import type { SerializedError } from '../errors.ts';

export interface BatchTask {
  kind: 'batch';
  group: string;
  topic: string;
  partition: number;
  /** 1 on first delivery, 2+ on retries. */
  attempt: number;
  /** Offset to commit when the whole batch succeeds (last fetched offset + 1, filtered messages included). */
  nextOffset: number;
  /** msgpackr-packed RawBatch; its buffer is transferred, not copied. */
  packed: Uint8Array;
}

export interface RevokeTask {
  kind: 'revoke';
  group: string;
  topic: string;
  partition: number;
}

/** Sent to every thread: run shutdown() on each instance it holds, then drop them. */
export interface ShutdownTask {
  kind: 'shutdown';
}

/** Makes Piscina start a missing thread (see WorkerPool#kick); answers with the thread id. */
export interface PingTask {
  kind: 'ping';
}

export type WorkerTask = BatchTask | RevokeTask | ShutdownTask | PingTask;

export interface BatchOutcome {
  threadId: number;
  /** Offset to commit for this partition after this batch, or null if nothing new may be committed. */
  commitOffset: number | null;
  /** Present when consume() (or initialized()) threw. */
  error?: SerializedError;
  /** The offset of the message that failed, when the error says (PayloadError, or an error with an `offset` in this batch). */
  failedOffset?: number;
  /** The consumer instance was dropped (stuck after a timeout); the next batch gets a fresh one. */
  instanceReset?: boolean;
  durationMs: number;
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
