/**
 * Where a flush of page-view counts goes: one message per flush to
 * `page_view_counts`, keyed by the source partition (so a reader sees each
 * partition's flushes in order). Declared with its topic settings, so
 * `partita topics create` makes it.
 */
import { Responder, topic } from 'partita';

export interface PageViewCounts {
  partition: number;
  /** The last page_views offset these counts include. */
  upTo: number;
  views: Record<string, number>;
}

export class PageViewCountsResponder extends Responder<[counts: PageViewCounts]> {
  static override topics = [topic('page_view_counts', { kafkaTopic: { partitions: 3 } })];

  respond(counts: PageViewCounts): void {
    this.respondTo('page_view_counts', counts, { key: String(counts.partition) });
  }
}
