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
 * prefetch is full) and others are not, the fetch for the others waits at
 * most BRIEF_PAUSE_WAIT_MS for data instead of `maxWaitTimeMs`.
 *
 * It wraps ConsumerGroup.prototype.fetch (kafkajs 2.2.4, pinned exactly) and
 * reads only the instance's own paused/assigned state and read-replica map,
 * as kafkajs's fetch itself does; anything unexpected falls through to
 * kafkajs's own fetch. Outside the scope, kafkajs is untouched.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Resumes, as a signal a paused fetch loop can wait for; and which partitions are paused only briefly. */
export class ResumeSignal {
  #waiters = new Set<() => void>();
  /** Partitions (topic NUL partition) the scheduler paused and will resume by itself soon. */
  readonly #brief = new Set<string>();

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

  /** A partition was paused; `briefly`: by the scheduler, to be resumed soon (see BRIEF_PAUSE_WAIT_MS). */
  paused(topic: string, partition: number, briefly: boolean): void {
    if (briefly) this.#brief.add(`${topic}\0${partition}`);
    else this.#brief.delete(`${topic}\0${partition}`);
  }

  /** A partition was resumed (any, without arguments): every loop waiting wakes and looks again. */
  resumed(topic?: string, partition?: number): void {
    if (topic !== undefined) this.#brief.delete(`${topic}\0${partition}`);
    for (const wake of [...this.#waiters]) wake();
  }

  /** Whether the partition is paused, briefly (as this signal was told). */
  pausedBriefly(topic: string, partition: number): boolean {
    return this.#brief.has(`${topic}\0${partition}`);
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
 * The longest a fetch waits for data (its maxWaitTime) while some partition of its broker is
 * paused briefly and others are not: the request for the unpaused ones would otherwise be a
 * long poll of `maxWaitTimeMs` (500 by default) on partitions at their log end, and the paused
 * partition, resumed a few milliseconds later, waits behind it, since kafkajs keeps one fetch
 * in flight per broker. On a 500k-message zstd topic this was the last second of a 2.3 s run:
 * workers idle, bursts every ~500 ms (pool ×2 on Node 24: 211k–228k msg/s, 341k–359k with it).
 * The cost: while a partition waits for its threads, an idle broker is asked every 20 ms.
 */
export const BRIEF_PAUSE_WAIT_MS = 20;

/** True when some partition of this broker is paused briefly (and still paused in kafkajs). */
function somePartitionBriefly(group: ConsumerGroupInternals, nodeId: number, signal: ResumeSignal): boolean {
  try {
    const mine = group.filterPartitionsByNode(nodeId, group.subscriptionState.assigned());
    return mine.some(({ topic, partitions }) => partitions.some((p) => signal.pausedBriefly(topic, p) && group.subscriptionState.isPaused(topic, p)));
  } catch {
    return false;
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
    if (signal && this.maxWaitTime > BRIEF_PAUSE_WAIT_MS && somePartitionBriefly(this, nodeId, signal)) return original.call(withMaxWait(this, BRIEF_PAUSE_WAIT_MS), nodeId);
    return original.call(this, nodeId);
  };
}
