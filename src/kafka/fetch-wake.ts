/**
 * The second hook into kafkajs (see docs/kafkajs-fetch-hook.md): when every
 * partition a broker serves is paused, kafkajs's fetch loop for that broker
 * sleeps `maxWaitTimeMs` before it looks again — a partition resumed 1 ms
 * later still waits out the rest (this was the ~500 ms p99 of the pool at
 * 20k msg/s: busy threads fill every partition's prefetch, all pause, one
 * frees up, and its next fetch waits for kafkajs's timer). Inside
 * `fetchWakes.run(signal, …)` that sleep is replaced by one that the
 * source's resume() ends early; then the real fetch runs at once.
 *
 * And while some of a broker's partitions are paused only briefly (their
 * prefetch is full) and others are not, the fetch for the others waits for
 * data only until those are expected back (briefWaitMs), not `maxWaitTimeMs`.
 *
 * It wraps ConsumerGroup.prototype.fetch (kafkajs 2.2.4, pinned exactly) and
 * reads only the instance's own paused/assigned state and read-replica map,
 * as kafkajs's fetch itself does; anything unexpected falls through to
 * kafkajs's own fetch. Outside the scope, kafkajs is untouched.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Resumes, as a signal a paused fetch loop can wait for; and how soon briefly paused partitions should resume. */
export class ResumeSignal {
  #waiters = new Set<() => void>();
  /** Partitions (topic NUL partition) the scheduler paused and will resume by itself: since when. */
  readonly #brief = new Map<string, number>();
  /** Per partition, how long its brief pauses lasted (a moving average, ms). */
  readonly #typical = new Map<string, number>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Resolves at the next resumed() or after `ms`, whichever comes first. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }

  /** A partition was paused; `briefly`: by the scheduler, which resumes it by itself (see briefWaitMs). */
  paused(topic: string, partition: number, briefly: boolean): void {
    const key = `${topic}\0${partition}`;
    if (!briefly) this.#brief.delete(key);
    else if (!this.#brief.has(key)) this.#brief.set(key, this.now());
  }

  /** A partition was resumed (any, without arguments): every loop waiting wakes and looks again. */
  resumed(topic?: string, partition?: number): void {
    if (topic !== undefined) {
      const key = `${topic}\0${partition}`;
      const since = this.#brief.get(key);
      if (since !== undefined) {
        const lasted = this.now() - since;
        const before = this.#typical.get(key);
        this.#typical.set(key, before === undefined ? lasted : before * 0.7 + lasted * 0.3);
        this.#brief.delete(key);
      }
    }
    for (const wake of [...this.#waiters]) wake();
  }

  /**
   * How long a fetch of the partition's broker should wait for data while the partition is
   * paused briefly (undefined when it is not): a quarter of the time it is still expected to be
   * paused (going by how long its pauses lasted), or of the time it has been paused once that is
   * longer (overdue, or no history yet); at least BRIEF_PAUSE_WAIT_MS, at most `maxWaitMs`. A
   * quarter, not the whole: a resume earlier than expected then waits little (with the whole
   * expected time, pool ×2 on a zstd catch-up ran ~5 % slower than with 20 ms every time). A
   * partition whose batches are quick is back in milliseconds and its broker is asked again
   * every 20 ms; one whose batches take a second is asked 4–8 times per pause, not 50 times a
   * second, and one paused long (a retry backoff) soon only every `maxWaitMs`.
   */
  briefWaitMs(topic: string, partition: number, maxWaitMs: number): number | undefined {
    const key = `${topic}\0${partition}`;
    const since = this.#brief.get(key);
    if (since === undefined) return undefined;
    const paused = this.now() - since;
    const remaining = (this.#typical.get(key) ?? 0) - paused;
    return Math.min(maxWaitMs, Math.max(BRIEF_PAUSE_WAIT_MS, Math.max(remaining, paused) / 4));
  }

  get waiting(): number {
    return this.#waiters.size;
  }
}

/** Fetch loops started inside `fetchWakes.run(signal, …)` wait on `signal` instead of kafkajs's timer. */
export const fetchWakes = new AsyncLocalStorage<ResumeSignal>();

type TopicPartitions = Array<{ topic: string; partitions: number[] }>;

/** What the wrapper reads of a kafkajs ConsumerGroup. */
interface ConsumerGroupInternals {
  maxWaitTime: number;
  subscriptionState: { assigned(): TopicPartitions; isPaused(topic: string, partition: number): boolean };
  filterPartitionsByNode(nodeId: number, topicPartitions: TopicPartitions): TopicPartitions;
  fetch(nodeId: number): Promise<unknown[]>;
}

/** True when the broker serves some assigned partitions and every one of them is paused. */
function everyPartitionPaused(group: ConsumerGroupInternals, nodeId: number): boolean {
  try {
    const mine = group.filterPartitionsByNode(nodeId, group.subscriptionState.assigned()).filter((t) => t.partitions.length > 0);
    return mine.length > 0 && mine.every(({ topic, partitions }) => partitions.every((p) => group.subscriptionState.isPaused(topic, p)));
  } catch {
    return false; // no metadata yet, or a shape this hook does not know: kafkajs decides
  }
}

/**
 * The shortest wait for data (maxWaitTime) a fetch is given while some partition of its broker
 * is paused briefly and others are not (see briefWaitMs for how long, up to `maxWaitTimeMs`).
 * Without it the request for the unpaused partitions, at the end of their log, is a long poll
 * of `maxWaitTimeMs` (500 by default), and a paused partition resumed a few milliseconds later
 * waits behind it, since kafkajs keeps one fetch in flight per broker. On a 500k-message zstd
 * topic this was the last second of a 2.3 s run: workers idle, bursts every ~500 ms (pool ×2 on
 * Node 24: 211k–228k msg/s, 341k–359k with a 20 ms wait).
 */
export const BRIEF_PAUSE_WAIT_MS = 20;

/** The wait for data a fetch of this broker should have while partitions of it are paused briefly: the shortest of theirs. */
function briefWait(group: ConsumerGroupInternals, nodeId: number, signal: ResumeSignal): number | undefined {
  try {
    let wait: number | undefined;
    for (const { topic, partitions } of group.filterPartitionsByNode(nodeId, group.subscriptionState.assigned())) {
      for (const p of partitions) {
        const w = group.subscriptionState.isPaused(topic, p) ? signal.briefWaitMs(topic, p, group.maxWaitTime) : undefined;
        if (w !== undefined && (wait === undefined || w < wait)) wait = w;
      }
    }
    return wait;
  } catch {
    return undefined;
  }
}

/** The group as kafkajs's fetch sees it, but with a shorter maxWaitTime; everything else is the group itself. */
function withMaxWait(group: ConsumerGroupInternals, ms: number): ConsumerGroupInternals {
  return new Proxy(group, {
    get: (target, key) => (key === 'maxWaitTime' ? ms : Reflect.get(target, key, target)),
    set: (target, key, value) => Reflect.set(target, key, value, target),
  });
}

let installed = false;

/** Puts the hook in place (once). */
export function installFetchWake(): void {
  if (installed) return;
  installed = true;
  const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as { prototype: ConsumerGroupInternals };
  const original = ConsumerGroup.prototype.fetch;
  ConsumerGroup.prototype.fetch = async function fetch(this: ConsumerGroupInternals, nodeId: number) {
    const signal = fetchWakes.getStore();
    if (signal && everyPartitionPaused(this, nodeId)) {
      await signal.wait(this.maxWaitTime);
      // Still nothing to fetch here: what kafkajs returns after its own sleep.
      if (everyPartitionPaused(this, nodeId)) return [];
    }
    const brief = signal && briefWait(this, nodeId, signal);
    if (brief !== undefined && brief < this.maxWaitTime) return original.call(withMaxWait(this, Math.round(brief)), nodeId);
    return original.call(this, nodeId);
  };
}
