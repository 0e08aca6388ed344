/**
 * The demo app's boot file. Run it with `npx partita server` from this
 * directory (or `--boot examples/events/partita.config.ts`), after creating
 * the topics (`npx partita topics create`); `npm run demo` does all of that for you.
 */
import { availableParallelism } from 'node:os';
import { createApp } from 'partita';
import { PageViewsConsumer } from './consumers/page-views-consumer.ts';
import { PageViewCountsResponder } from './responders/page-view-counts-responder.ts';

export default createApp({
  kafka: {
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    clientId: 'partita-demo',
  },
  concurrency: Math.max(2, availableParallelism()),
  shutdownTimeoutMs: 15_000,
  routes: {
    'demo-events': {
      topics: {
        page_views: {
          consumer: PageViewsConsumer,
          // Flushed counts go to page_view_counts (see `npx partita flow`).
          responder: PageViewCountsResponder,
          // `npx partita topics create` makes it like this.
          kafkaTopic: { partitions: 6 },
          // Mark after flushing, not after each batch: see the consumer.
          manualOffsets: true,
          // Dropped on the fetcher, before scheduling: bots are noise here.
          filter: (message) => message.header('bot') !== 'true',
        },
      },
    },
  },
});
