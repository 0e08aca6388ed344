/**
 * Aggregates page views per page across batches and flushes the counts every
 * FLUSH_ROWS messages (think: one bulk INSERT instead of one per message) —
 * to the `page_view_counts` topic through PageViewCountsResponder, and to
 * DEMO_SINK (a JSONL file) when set. The instance is persistent per
 * partition, so the buffer survives between batches. Offsets are managed
 * manually: a message is marked consumed only once its counts were flushed
 * and acknowledged by Kafka, so a crash never loses buffered rows — they are
 * re-delivered and counted again (at least once).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Consumer, type Message, type Messages } from 'partita';

export interface PageView {
  page: string;
  user: string;
  at: number;
}

const FLUSH_ROWS = Number(process.env.DEMO_FLUSH_ROWS ?? 1000);
const SINK = process.env.DEMO_SINK; // optional JSONL file standing in for a database table

export class PageViewsConsumer extends Consumer<PageView> {
  #counts = new Map<string, number>();
  #buffered = 0;
  #lastBuffered: Message<PageView> | undefined;
  flushes = 0;

  async consume(messages: Messages<PageView>): Promise<void> {
    for (const message of messages) {
      const { page } = message.payload;
      this.#counts.set(page, (this.#counts.get(page) ?? 0) + 1);
      this.#buffered += 1;
      this.#lastBuffered = message;
      if (this.#buffered >= FLUSH_ROWS) await this.#flush();
    }
  }

  async #flush(): Promise<void> {
    const last = this.#lastBuffered;
    if (!last) return;
    const upTo = last.offset;
    if (SINK) {
      mkdirSync(dirname(SINK), { recursive: true });
      const rows = [...this.#counts].map(([page, views]) => JSON.stringify({ partition: this.partition, page, views, upTo }));
      appendFileSync(SINK, rows.join('\n') + '\n');
    }
    // Resolves once Kafka acknowledged the counts; only then is the offset marked.
    await this.respondWith({ partition: this.partition, upTo, views: Object.fromEntries(this.#counts) });
    this.flushes += 1;
    this.markAsConsumed(last);
    this.#counts.clear();
    this.#buffered = 0;
    this.#lastBuffered = undefined;
  }

  // Flush what is buffered when the partition goes away or the process stops.
  override async revoked(): Promise<void> {
    await this.#flush();
  }

  override async shutdown(): Promise<void> {
    await this.#flush();
  }
}
