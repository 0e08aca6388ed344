/**
 * The Piscina pool with partition pinning. Each partition key is pinned to one
 * thread for as long as it is assigned; Piscina's `loadBalancer` sees the
 * task's queue options (Piscina.queueOptionsSymbol) and returns exactly that
 * thread, or null (queue) while it is not ready. Threads are never reaped
 * (minThreads = maxThreads, idleTimeout = Infinity).
 *
 * A thread runs many tasks at once (one per pinned partition at most, the
 * scheduler guarantees that), so async consumers on one thread overlap their
 * I/O; `atomics: 'disabled'` keeps each worker's event loop running between
 * tasks (timers and sockets of user code work).
 */
import { Piscina } from 'piscina';
import { WorkerError } from '../errors.ts';
import type { BatchOutcome, HookOutcome, PingOutcome, WorkerTask } from './wire.ts';

const WORKER_FILE = new URL('../../workers/entry.js', import.meta.url);

export interface PoolOptions {
  bootFile: string;
  threads: number;
  /** A thread died (crash, process.exit, termination); `keys` were pinned to it and are unpinned now. */
  onThreadLost?: (threadId: number, keys: string[]) => void;
  /** A thread failed while running no task (Piscina's 'error' event). */
  onError?: (err: Error) => void;
}

/** Thrown for a batch whose thread was terminated because it ran past timeoutMs + grace. */
export class ThreadTerminatedError extends Error {
  override name = 'ThreadTerminatedError';
}

interface PinnedTask {
  [Piscina.queueOptionsSymbol]: { threadId: number };
}

export class WorkerPool {
  readonly #piscina: Piscina;
  /** partition key → thread id */
  readonly #pins = new Map<string, number>();
  #destroying = false;

  constructor(opts: PoolOptions) {
    this.#piscina = new Piscina({
      filename: WORKER_FILE.href,
      minThreads: opts.threads,
      maxThreads: opts.threads,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1024,
      atomics: 'disabled',
      maxQueue: Infinity,
      workerData: { bootFile: opts.bootFile },
      loadBalancer: (task, workers) => {
        const target = (task as unknown as Partial<PinnedTask>)[Piscina.queueOptionsSymbol]?.threadId;
        for (const w of workers) if (w.id === target) return w;
        return null;
      },
    });
    // Piscina replaces a dead thread by itself; the partitions pinned to it must restart elsewhere.
    this.#piscina.on('workerDestroy', (worker: { id: number }) => {
      if (this.#destroying) return;
      const keys = [...this.#pins].filter(([, id]) => id === worker.id).map(([k]) => k);
      for (const k of keys) this.#pins.delete(k);
      opts.onThreadLost?.(worker.id, keys);
    });
    // Without a listener an 'error' event would crash the main thread.
    this.#piscina.on('error', (err: Error) => opts.onError?.(err));
  }

  /** Ids of the live threads. */
  threadIds(): number[] {
    return this.#piscina.threads.map((t) => t.threadId);
  }

  /** Resolves once every thread has loaded the boot file; rejects with the first thread's load error. */
  async ready(): Promise<void> {
    const ids = this.threadIds();
    try {
      await Promise.all(ids.map((id) => this.#runOn(id, { kind: 'ping' }) as Promise<PingOutcome>));
    } catch (err) {
      throw new WorkerError(`a worker thread could not start: ${(err as Error)?.message ?? String(err)}`, err);
    }
  }

  /**
   * The thread a partition runs on. Pins it to the thread with the fewest
   * pinned partitions on first use, or again if its thread died.
   */
  pin(key: string): number {
    const live = this.threadIds();
    const current = this.#pins.get(key);
    if (current !== undefined && live.includes(current)) return current;
    const load = new Map<number, number>(live.map((id) => [id, 0]));
    for (const [k, id] of this.#pins) {
      if (load.has(id) && k !== key) load.set(id, load.get(id)! + 1);
    }
    let best = live[0];
    for (const id of live) if (load.get(id)! < load.get(best!)!) best = id;
    if (best === undefined) throw new WorkerError('the worker pool has no live thread');
    this.#pins.set(key, best);
    return best;
  }

  unpin(key: string): void {
    this.#pins.delete(key);
  }

  pinnedThread(key: string): number | undefined {
    return this.#pins.get(key);
  }

  /** Number of partitions pinned to each live thread. */
  pinsPerThread(): Map<number, string[]> {
    const out = new Map<number, string[]>(this.threadIds().map((id) => [id, []]));
    for (const [key, id] of this.#pins) out.get(id)?.push(key);
    return out;
  }

  /**
   * Runs a batch on its partition's thread. With `deadlineMs`, a batch that has
   * not come back by then (a synchronous loop ignores the worker's own
   * timeout) gets its thread terminated and replaced, and rejects with
   * ThreadTerminatedError.
   */
  async runBatch(key: string, task: Extract<WorkerTask, { kind: 'batch' }>, deadlineMs?: number): Promise<BatchOutcome> {
    const transfer = [task.packed.buffer as ArrayBuffer];
    if (deadlineMs === undefined) return (await this.#runOn(this.pin(key), task, transfer)) as BatchOutcome;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), deadlineMs);
    try {
      return (await this.#runOn(this.pin(key), task, transfer, abort.signal)) as BatchOutcome;
    } catch (err) {
      if (abort.signal.aborted) throw new ThreadTerminatedError(`batch did not return within ${deadlineMs} ms; its worker thread was terminated and replaced`);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Revoke on the partition's thread (no-op when it was never pinned, or its thread died). */
  async revoke(key: string, task: Extract<WorkerTask, { kind: 'revoke' }>): Promise<HookOutcome | undefined> {
    const id = this.#pins.get(key);
    this.#pins.delete(key);
    if (id === undefined || !this.threadIds().includes(id)) return undefined;
    return (await this.#runOn(id, task)) as HookOutcome;
  }

  /** shutdown() on every instance of every thread. */
  async shutdownAll(): Promise<HookOutcome[]> {
    const ids = this.threadIds();
    return (await Promise.all(ids.map((id) => this.#runOn(id, { kind: 'shutdown' })))) as HookOutcome[];
  }

  #runOn(threadId: number, task: WorkerTask, transferList?: ArrayBuffer[], signal?: AbortSignal): Promise<unknown> {
    const pinned = Object.assign(task, { [Piscina.queueOptionsSymbol]: { threadId } });
    return this.#piscina.run(pinned, { ...(transferList ? { transferList } : {}), ...(signal ? { signal } : {}) });
  }

  /** Terminates one thread (tests and operators use it to prove crash recovery); Piscina starts a replacement. */
  async terminateThread(threadId: number): Promise<boolean> {
    const worker = this.#piscina.threads.find((t) => t.threadId === threadId);
    if (!worker) return false;
    await worker.terminate();
    return true;
  }

  async destroy(): Promise<void> {
    this.#destroying = true;
    await this.#piscina.destroy();
  }
}
