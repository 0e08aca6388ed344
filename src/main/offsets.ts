/**
 * Commit positions of one consumer group. The scheduler reports the offset up
 * to which each partition is processed (a contiguous prefix, since a
 * partition's batches complete in order); the committer sends only what moved
 * since the last successful commit. The fetch position lives elsewhere
 * (kafkajs resolveOffset + the scheduler's guard), so fetching can run ahead
 * of committing.
 */
import type { TopicPartitionOffset } from '../kafka/types.ts';
import { topicPartitionKey } from '../protocol/partition-id.ts';

export type { TopicPartitionOffset };

const key = topicPartitionKey;

export class OffsetTracker {
  readonly #processed = new Map<string, TopicPartitionOffset>();
  readonly #committed = new Map<string, number>();

  /** Moves the processed watermark forward (never back). */
  markProcessed(topic: string, partition: number, offset: number): void {
    const k = key(topic, partition);
    const cur = this.#processed.get(k);
    if (!cur || offset > cur.offset) this.#processed.set(k, { topic, partition, offset });
  }

  processed(topic: string, partition: number): number | undefined {
    return this.#processed.get(key(topic, partition))?.offset;
  }

  committed(topic: string, partition: number): number | undefined {
    return this.#committed.get(key(topic, partition));
  }

  /** Partitions whose processed watermark is ahead of the last commit. */
  pending(): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const [k, p] of this.#processed) {
      const c = this.#committed.get(k);
      if (c === undefined || p.offset > c) out.push({ ...p });
    }
    return out;
  }

  /**
   * Commits everything pending through `send`, which resolves with what Kafka
   * acknowledged. Only that counts as committed; the rest stays pending and is
   * sent again next time (also when `send` throws). Returns what was sent but
   * not acknowledged (partitions revoked meanwhile left out).
   */
  async commit(send: (offsets: TopicPartitionOffset[]) => Promise<TopicPartitionOffset[]>): Promise<TopicPartitionOffset[]> {
    const batch = this.pending();
    if (batch.length === 0) return batch;
    for (const p of await send(batch)) {
      const k = key(p.topic, p.partition);
      // A partition revoked while its commit was under way is not this member's business any more.
      if (!this.#processed.has(k)) continue;
      if ((this.#committed.get(k) ?? -1) < p.offset) this.#committed.set(k, p.offset);
    }
    return batch.filter((p) => {
      const k = key(p.topic, p.partition);
      return this.#processed.has(k) && (this.#committed.get(k) ?? -1) < p.offset;
    });
  }

  /** Every partition with a processed watermark (what a graceful stop must find committed in Kafka). */
  all(): TopicPartitionOffset[] {
    return [...this.#processed.values()].map((p) => ({ ...p }));
  }

  forget(topic: string, partition: number): void {
    this.#processed.delete(key(topic, partition));
    this.#committed.delete(key(topic, partition));
  }
}
