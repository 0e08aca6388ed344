/**
 * A worker thread's start: what it is given (Piscina's workerData) and what
 * it announces on its own once it has loaded the boot file (or failed to).
 * The announcement is not a task on purpose: see WorkerPool.
 */
import type { MessagePort } from 'node:worker_threads';

/** What each worker thread is started with. */
export interface WorkerData {
  bootFile: string;
  /** BroadcastChannel the thread publishes its runtime metrics on (none: not published). */
  metricsChannel?: string | undefined;
  metricsIntervalMs?: number | undefined;
}

/** What a worker thread posts (parentPort) once it loaded the boot file, or failed to. */
export interface BootMessage {
  partitaBoot: 'booted' | 'failed';
  threadId: number;
  /** The thread's end stays with it; this end goes to the main thread's producer. */
  producerPort?: MessagePort;
  error?: string;
}
