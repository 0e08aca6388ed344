/**
 * Consumer lag of one group's assigned partitions: log end offset (high
 * watermark) minus the group's committed offset, both asked of Kafka every
 * interval with one admin connection. Kafka's committed offset is the truth
 * the rest of the fleet sees; a partition nothing was committed for yet
 * counts from its earliest offset.
 */
import type { Admin } from 'kafkajs';
import type { GroupConnection } from './types.ts';
import type { Logger } from '../logger.ts';
import { createKafkaClient } from './client.ts';
import { topicPartitionKey } from '../protocol/partition-id.ts';

export interface PartitionLag {
  logEndOffset: number;
  lag: number;
}

export class LagMonitor {
  readonly #group: GroupConnection;
  readonly #assignment: () => Record<string, number[]>;
  readonly #logger: Logger;
  readonly #admin: Admin;
  #lag = new Map<string, PartitionLag>();
  #timer: NodeJS.Timeout | undefined;
  #connected: Promise<void> | undefined;
  #refreshing: Promise<void> | undefined;
  #failing = false;

  constructor(group: GroupConnection, assignment: () => Record<string, number[]>, logger: Logger) {
    this.#group = group;
    this.#assignment = assignment;
    this.#logger = logger;
    this.#admin = createKafkaClient(group.kafka, logger).admin();
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => void this.refresh(), intervalMs);
    this.#timer.unref();
  }

  get(topic: string, partition: number): PartitionLag | undefined {
    return this.#lag.get(topicPartitionKey(topic, partition));
  }

  /** Asks Kafka for the high watermarks and committed offsets of the assigned partitions (one refresh at a time). */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const assignment = this.#assignment();
    const topics = Object.keys(assignment).filter((t) => assignment[t]!.length > 0);
    const next = new Map<string, PartitionLag>();
    try {
      if (topics.length > 0) {
        this.#connected ??= this.#admin.connect();
        await this.#connected;
        const committed = await this.#admin.fetchOffsets({ groupId: this.#group.name, topics });
        for (const topic of topics) {
          const ends = await this.#admin.fetchTopicOffsets(topic);
          const done = committed.find((c) => c.topic === topic)?.partitions ?? [];
          for (const p of assignment[topic]!) {
            const end = ends.find((e) => e.partition === p);
            if (!end) continue;
            const high = Number(end.high);
            const c = Number(done.find((d) => d.partition === p)?.offset ?? -1);
            const from = c >= 0 ? c : Number(end.low);
            next.set(topicPartitionKey(topic, p), { logEndOffset: high, lag: Math.max(0, high - from) });
          }
        }
      }
      this.#lag = next;
      if (this.#failing) this.#logger.info('consumer lag refresh works again');
      this.#failing = false;
    } catch (err) {
      // Keep the last values; say so once, not every interval.
      if (!this.#failing) this.#logger.warn({ err }, 'consumer lag refresh failed; lag metrics keep their last values');
      this.#failing = true;
      this.#connected = undefined;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#refreshing;
    await this.#admin.disconnect().catch(() => {});
  }
}
