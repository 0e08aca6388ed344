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
 * It wraps ConsumerGroup.prototype.fetch (kafkajs 2.2.4, pinned exactly) and
 * reads only the instance's own paused/assigned state and read-replica map,
 * as kafkajs's fetch itself does; anything unexpected falls through to
 * kafkajs's own fetch. Outside the scope, kafkajs is untouched.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Resumes, as a signal a paused fetch loop can wait for. */
export class ResumeSignal {
  #waiters = new Set<() => void>();

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

  /** A partition was resumed: every loop waiting wakes and looks again. */
  resumed(): void {
    for (const wake of [...this.#waiters]) wake();
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
    return original.call(this, nodeId);
  };
}
