/** Group selection happens before anything connects: unknown names and groups with nothing active fail fast. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consumer, createApp, NoActiveRoutesError, Server, UnknownConsumerGroupError } from '../../src/index.ts';
import { selectGroups } from '../../src/main/server.ts';

class Noop extends Consumer {
  consume(): void {}
}

const app = createApp({
  kafka: { brokers: ['127.0.0.1:1'] },
  routes: {
    live: { topics: { a: { consumer: Noop, backend: 'inline' } } },
    dormant: { topics: { b: { consumer: Noop, active: false } } },
  },
});

test('selectGroups keeps route order and rejects unknown names listing the available ones', () => {
  assert.deepEqual(selectGroups(app, undefined).map((g) => g.name), ['live', 'dormant']);
  assert.deepEqual(selectGroups(app, ['dormant']).map((g) => g.name), ['dormant']);
  assert.throws(() => selectGroups(app, ['live', 'nope']), (err: unknown) => err instanceof UnknownConsumerGroupError && err.message === 'Unknown consumer group: nope. Available: live, dormant');
});

test('a selection with no active topic fails with NO_ACTIVE_ROUTES before connecting', async () => {
  await assert.rejects(Server.start({ app, consumerGroups: ['dormant'] }), (err: unknown) => err instanceof NoActiveRoutesError && err.code === 'NO_ACTIVE_ROUTES');
});
