/**
 * The demo app's consumer, tested without a broker: partita/testing's
 * testConsumer runs PageViewsConsumer on its route (filter, manual offsets,
 * responder contract) and records what it produced.
 * Run: node --import partita/register --test examples/events/test/page-views.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testConsumer } from 'partita/testing';
import app from '../partita.config.ts';
import type { PageViewsConsumer } from '../consumers/page-views-consumer.ts';
import type { PageViewCounts } from '../responders/page-view-counts-responder.ts';

const view = (page: string, user = 'u1') => ({ payload: { page, user, at: 0 }, key: user });

test('counts are flushed to page_view_counts every 1000 views, and only then is the offset marked', async () => {
  const t = testConsumer<PageViewsConsumer>(app, 'page_views', { partition: 4 });
  const first = await t.consume(Array.from({ length: 600 }, (_, i) => view(i % 3 === 0 ? '/home' : '/pricing')));
  assert.equal(first.messages, 600);
  assert.equal(first.commitOffset, null, 'nothing flushed yet: nothing may be committed (manualOffsets)');
  assert.equal(t.producedTo('page_view_counts').length, 0);

  await t.consume(Array.from({ length: 600 }, () => view('/home')));
  const [flush] = t.producedTo('page_view_counts');
  assert.equal(t.produced.length, 1);
  assert.equal(flush!.key, '4', 'keyed by the source partition');
  const counts = flush!.payload as PageViewCounts;
  assert.deepEqual(counts, { partition: 4, upTo: 999, views: { '/home': 600, '/pricing': 400 } });
  assert.equal(t.committedOffset, 1000, 'marked up to the last flushed view');
  assert.equal(t.consumer.flushes, 1, 'the same instance across batches');

  // The 200 buffered views are flushed when the partition is revoked.
  await t.revoke();
  assert.deepEqual((t.producedTo('page_view_counts')[1]!.payload as PageViewCounts).views, { '/home': 200 });
  assert.equal(t.committedOffset, 1200);
});

test("bots are dropped by the route's filter before consume()", async () => {
  const t = testConsumer<PageViewsConsumer>(app, 'page_views');
  const report = await t.consume([view('/a'), { ...view('/b'), headers: { bot: 'true' } }, view('/a')]);
  assert.deepEqual([report.messages, report.filtered], [2, 1]);
  await t.shutdown();
  assert.deepEqual((t.produced[0]!.payload as PageViewCounts).views, { '/a': 2 });
});

test('a payload that is not JSON fails the batch with PAYLOAD_INVALID (the runtime would retry it)', async () => {
  const t = testConsumer(app, 'page_views');
  await assert.rejects(t.consume([view('/a'), { value: 'not json' }]), { code: 'PAYLOAD_INVALID' });
});
