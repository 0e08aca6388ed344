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
 *
 * Tasks are handed to Piscina only for a thread that is ready (it announced,
 * unasked, that it loaded the boot file), so none should wait in Piscina's
 * queue: a task queued for a thread that then dies would never run (the
 * balancer cannot find that thread again) and would hold up the ones behind
 * it. Should it happen anyway, the thread's exit aborts such tasks.
 */
import { setMaxListeners } from 'node:events';
import type { MessagePort } from 'node:worker_threads';
import type { BootMessage, WorkerData } from '../../protocol/boot.ts';
import { Piscina } from 'piscina';
import { WorkerError } from '../../errors.ts';
import { laneOwner } from '../../protocol/partition-id.ts';
import type { BatchOutcome, HookOutcome, WorkerTask } from '../../protocol/tasks.ts';

const WORKER_FILE = new URL('../../worker/thread.js', import.meta.url);

export interface PoolOptions {
  bootFile: string;
  metricsChannel?: string;
  metricsIntervalMs?: number;
  threads: number;
  /** V8 heap limits of each thread (Node's Worker resourceLimits). */
  resourceLimits?: { maxYoungGenerationSizeMb?: number; maxOldGenerationSizeMb?: number };
  /** A thread died (crash, process.exit, termination); `keys` were pinned to it and are unpinned now. */
  onThreadLost?: (threadId: number, keys: string[]) => void;
  /** Main-thread end of a thread's producer channel (the thread creates it and sends it when booted). */
  onProducerPort?: (threadId: number, port: MessagePort) => void;
  /** A thread failed while running no task (Piscina's 'error' event). */
  onError?: (err: Error) => void;
}

export interface PoolHealth {
  size: number;
  threads: number;
  ready: number;
  broken: number;
  waiting: number;
  replacing: boolean;
  noReadyThreadMs: number;
  destroyed: boolean;
}

/** Thrown for a batch whose thread was terminated because it ran past timeoutMs + grace. */
export class ThreadTerminatedError extends WorkerError {}

/** Target of the task that makes Piscina start a missing thread. */
const KICK = -1;

interface PinnedTask {
  [Piscina.queueOptionsSymbol]: { threadId: number };
}

export class WorkerPool {
  readonly #piscina: Piscina;
  /** partition key → thread id */
  readonly #pins = new Map<string, number>();
  /** Threads that finished starting and have not exited. */
  readonly #ready = new Set<number>();
  /** Threads that started but could not load the boot file, with the error. */
  readonly #broken = new Map<number, unknown>();
  /** Aborted when the thread exits (watched threads only). */
  readonly #exits = new Map<number, AbortSignal>();
  /** Last time the number of ready threads was above zero (for the dead-pool check). */
  #readySince = Date.now();
  /** Tasks waiting in #threadFor for a ready thread. */
  #waiting = 0;
  #readyWaiters: Array<() => void> = [];
  readonly #size: number;
  #destroying = false;
  #kicking: Promise<void> | undefined;

  constructor(opts: PoolOptions) {
    this.#size = opts.threads;
    this.#piscina = new Piscina({
      filename: WORKER_FILE.href,
      minThreads: opts.threads,
      maxThreads: opts.threads,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1024,
      atomics: 'disabled',
      ...(opts.resourceLimits ? { resourceLimits: opts.resourceLimits } : {}),
      maxQueue: Infinity,
      workerData: { bootFile: opts.bootFile, metricsChannel: opts.metricsChannel, metricsIntervalMs: opts.metricsIntervalMs } satisfies WorkerData,
      loadBalancer: (task, workers) => {
        const target = (task as unknown as Partial<PinnedTask>)[Piscina.queueOptionsSymbol]?.threadId;
        // A kick (see #kick) stays undistributed until Piscina has started the missing thread.
        if (target === KICK) return this.#piscina.threads.length < this.#size ? null : (workers[0] ?? null);
        for (const w of workers) if (w.id === target) return w;
        return null;
      },
    });
    // Piscina replaces a dead thread by itself; the partitions pinned to it must restart
    // elsewhere. Watch each thread's own 'exit' (a destroyed worker no longer knows its id).
    this.#piscina.on('workerCreate', (created: { id: number }) => this.#watch(created.id, opts));
    // A thread announces itself once it loaded the boot file (or failed to), on its own
    // initiative: a handshake *task* could queue in Piscina behind a task for a thread that
    // just died and never run. Only announced threads get work; one that cannot load the
    // app stays idle (not restarted in a loop) and /health reports the pool dead.
    this.#piscina.on('message', (msg: Partial<BootMessage>) => {
      if (msg?.partitaBoot === undefined || typeof msg.threadId !== 'number') return;
      const id = msg.threadId;
      if (!this.#watch(id, opts)) return; // already gone
      if (msg.partitaBoot === 'booted') {
        if (msg.producerPort) opts.onProducerPort?.(id, msg.producerPort);
        this.#ready.add(id);
        this.#readySince = Date.now();
      } else if (!this.#destroying) {
        const err = new WorkerError(`worker thread ${id} could not load the boot file: ${msg.error ?? 'unknown error'}`);
        this.#broken.set(id, err);
        opts.onError?.(err);
      }
      this.#wake();
    });
    // Without a listener an 'error' event would crash the main thread.
    this.#piscina.on('error', (err: Error) => opts.onError?.(err));
  }

  /**
   * Starts watching a thread's exit (once); false if it is not alive any more.
   * On exit: out of rotation, its pinned partitions handed back, tasks still
   * waiting in Piscina for it aborted (they would block Piscina's queue).
   */
  #watch(id: number, opts: PoolOptions): boolean {
    if (this.#exits.has(id)) return true;
    const thread = this.#piscina.threads.find((t) => t.threadId === id);
    if (!thread) return false;
    const exited = new AbortController();
    setMaxListeners(0, exited.signal); // one listener per task in flight on this thread
    this.#exits.set(id, exited.signal);
    thread.once('exit', () => {
      exited.abort(new WorkerError(`worker thread ${id} exited`));
      this.#exits.delete(id);
      if (this.#ready.has(id)) this.#readySince = Date.now();
      this.#ready.delete(id);
      this.#broken.delete(id);
      if (this.#destroying) return;
      setImmediate(() => this.#kick());
      const keys = [...this.#pins].filter(([, pinned]) => pinned === id).map(([k]) => k);
      for (const k of keys) this.#pins.delete(k);
      opts.onThreadLost?.(id, keys);
    });
    return true;
  }

  /**
   * Configured size, started threads, ready threads, threads that failed to
   * load the boot file, tasks waiting for a ready thread, whether a
   * replacement is being forced, and how long no thread has been ready.
   */
  health(): PoolHealth {
    const ready = this.#ready.size;
    if (ready > 0) this.#readySince = Date.now();
    return {
      size: this.#size,
      threads: this.#piscina.threads.length,
      ready,
      broken: this.#broken.size,
      waiting: this.#waiting,
      replacing: this.#kicking !== undefined,
      noReadyThreadMs: ready > 0 ? 0 : Date.now() - this.#readySince,
      destroyed: this.#destroying,
    };
  }

  #wake(): void {
    for (const wake of this.#readyWaiters.splice(0)) wake();
  }

  /** Ids of the threads that are ready to run tasks. */
  threadIds(): number[] {
    return [...this.#ready];
  }

  #nextReady(): Promise<void> {
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /** Resolves once every thread has loaded the boot file; rejects with the first thread's load error. */
  async ready(): Promise<void> {
    // Piscina unrefs idle threads and nothing is in flight yet: keep the process up while they boot.
    const keepAlive = setInterval(() => {}, 1000);
    try {
      while (this.#ready.size < this.#size) {
        const [failure] = this.#broken.values();
        if (failure !== undefined) throw new WorkerError(`a worker thread could not start: ${(failure as Error)?.message ?? String(failure)}`, failure);
        await this.#nextReady();
      }
    } finally {
      clearInterval(keepAlive);
    }
  }

  /**
   * The thread a partition runs on. Pins it to the ready thread with the
   * fewest pinned partitions on first use, or again after its thread died —
   * preferring a thread that holds none of the same partition's other lanes,
   * so virtual partitions spread over threads land on different cores;
   * undefined while no thread is ready (a replacement is starting).
   */
  pin(key: string): number | undefined {
    const current = this.#pins.get(key);
    if (current !== undefined && this.#ready.has(current)) return current;
    const load = new Map<number, number>([...this.#ready].map((id) => [id, 0]));
    const owner = laneOwner(key);
    const siblings = new Set<number>();
    for (const [k, id] of this.#pins) {
      if (!load.has(id) || k === key) continue;
      load.set(id, load.get(id)! + 1);
      if (laneOwner(k) === owner) siblings.add(id);
    }
    const cost = (id: number) => (siblings.has(id) ? 1e9 : 0) + load.get(id)!;
    let best: number | undefined;
    for (const id of load.keys()) if (best === undefined || cost(id) < cost(best)) best = id;
    if (best !== undefined) this.#pins.set(key, best);
    return best;
  }

  /**
   * The partition's thread, waiting for one to be ready if none is. While a
   * kick is in Piscina's queue nothing else is submitted, so no batch ever
   * waits there.
   */
  async #threadFor(key: string): Promise<number> {
    for (;;) {
      if (this.#destroying) throw new WorkerError('the worker pool is shutting down');
      if (this.#kicking) {
        await this.#kicking;
        continue;
      }
      const id = this.pin(key);
      if (id !== undefined) return id;
      this.#kick();
      this.#waiting += 1;
      try {
        await (this.#kicking ?? this.#nextReady());
      } finally {
        this.#waiting -= 1;
      }
    }
  }

  /**
   * Piscina stops replacing threads once one died before it reported ready
   * (a crash during startup, or a slow start on a loaded machine), and starts
   * one again only for a submitted task it cannot place. So when the pool is
   * short of threads, submit a ping that the balancer holds back until the
   * missing thread exists.
   */
  #kick(): void {
    if (this.#kicking || this.#destroying || this.#piscina.threads.length >= this.#size) return;
    const ping = Object.assign({ kind: 'ping' } satisfies WorkerTask, { [Piscina.queueOptionsSymbol]: { threadId: KICK } });
    this.#kicking = this.#piscina
      .run(ping)
      .then(
        () => {},
        () => {},
      )
      .finally(() => {
        this.#kicking = undefined;
      });
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
    // A raw record set is shared memory (nothing to transfer); packed columns are transferred.
    const transfer = task.records.kind === 'packed' ? [task.records.packed.buffer as ArrayBuffer] : [];
    const threadId = await this.#threadFor(key);
    if (deadlineMs === undefined) return (await this.#runOn(threadId, task, transfer)) as BatchOutcome;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), deadlineMs);
    try {
      return (await this.#runOn(threadId, task, transfer, abort.signal)) as BatchOutcome;
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
    if (id === undefined || !this.#ready.has(id)) return undefined;
    return (await this.#runOn(id, task)) as HookOutcome;
  }

  /** A hook on the partition's thread, which keeps it (no-op when it was never pinned, or its thread died). */
  async runHook(key: string, task: Extract<WorkerTask, { kind: 'eofed' }>): Promise<HookOutcome | undefined> {
    const id = this.#pins.get(key);
    if (id === undefined || !this.#ready.has(id)) return undefined;
    return (await this.#runOn(id, task)) as HookOutcome;
  }

  /** shutdown() on every instance of every thread. */
  async shutdownAll(): Promise<HookOutcome[]> {
    const ids = this.threadIds();
    // A thread that dies meanwhile took its instances with it: nothing of it to flush or commit.
    return Promise.all(ids.map((id) => (this.#runOn(id, { kind: 'shutdown' }) as Promise<HookOutcome>).catch((): HookOutcome => ({ threadId: id, commits: [], errors: [] }))));
  }

  #runOn(threadId: number, task: WorkerTask, transferList?: ArrayBuffer[], signal?: AbortSignal): Promise<unknown> {
    const pinned = Object.assign(task, { [Piscina.queueOptionsSymbol]: { threadId } });
    // If the thread dies first, a task still queued for it is withdrawn instead of blocking the queue.
    const exited = this.#exits.get(threadId);
    if (!signal || !exited) {
      const only = signal ?? exited;
      return this.#piscina.run(pinned, { ...(transferList ? { transferList } : {}), ...(only ? { signal: only } : {}) });
    }
    const either = new AbortController();
    const onAbort = () => either.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    exited.addEventListener('abort', onAbort, { once: true });
    return this.#piscina.run(pinned, { ...(transferList ? { transferList } : {}), signal: either.signal }).finally(() => {
      signal.removeEventListener('abort', onAbort);
      exited.removeEventListener('abort', onAbort);
    });
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
    this.#wake();
    await this.#piscina.destroy();
  }
}
