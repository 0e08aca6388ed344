/** Config validation and normalization (pure logic, no broker). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, Consumer, createApp, type AppConfig } from '../../src/index.ts';

class Noop extends Consumer {
  consume(): void {}
}

const kafka = { brokers: ['127.0.0.1:9092'] };

function problems(config: unknown): string[] {
  try {
    createApp(config as AppConfig);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'CONFIG_INVALID');
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail('expected a ConfigError');
}

test('topics outside any group go to the default group (named after clientId), with defaults filled in', () => {
  const app = createApp({ kafka: { ...kafka, clientId: 'shop' }, topics: { orders: { consumer: Noop } } });
  assert.deepEqual(app.consumerGroups.map((g) => g.name), ['shop']);
  const route = app.route('shop', 'orders')!;
  assert.equal(route.backend, 'pool');
  assert.equal(route.deserializer, 'json');
  assert.equal(route.startFrom, 'earliest');
  assert.equal(route.active, true);
  assert.equal(route.manualOffsets, false);
  assert.equal(app.group('shop')!.settings.prefetch, 2);
});

test('group settings: app defaults, then the group own settings win; group kafka overrides merge', () => {
  const app = createApp({
    kafka,
    defaults: { prefetch: 5, commitIntervalMs: 100, retryBackoff: { maxMs: 5000 } },
    routes: {
      a: { topics: { t1: { consumer: Noop } } },
      b: { prefetch: 9, kafka: { brokers: ['other:9093'] }, retryBackoff: { initialMs: 10 }, topics: { t2: { consumer: Noop, backend: 'inline' } } },
    },
  });
  const a = app.group('a')!;
  const b = app.group('b')!;
  assert.equal(a.settings.prefetch, 5);
  assert.equal(b.settings.prefetch, 9);
  assert.equal(b.settings.commitIntervalMs, 100);
  assert.deepEqual(b.settings.retryBackoff, { initialMs: 10, maxMs: 5000 });
  assert.deepEqual(a.kafka.brokers, ['127.0.0.1:9092']);
  assert.deepEqual(b.kafka.brokers, ['other:9093']);
  assert.equal(app.route('b', 't2')!.backend, 'inline');
});

test('every problem is reported at once, each with its path', () => {
  const list = problems({
    kafka: { brokers: [] },
    concurrency: 1.5,
    routes: { g: { sessionTimeoutMs: 'x', topics: { 'bad topic!': { consumer: class {} }, ok: { consumer: Noop, deserializer: 'yaml', extra: 1 } } } },
  });
  assert.deepEqual(list.map((l) => l.split(':')[0]).sort(), [
    'concurrency',
    'kafka.brokers',
    'routes.g.sessionTimeoutMs',
    'routes.g.topics.bad topic!',
    'routes.g.topics.bad topic!.consumer',
    'routes.g.topics.ok.deserializer',
    'routes.g.topics.ok.extra',
  ].sort());
  assert.ok(list.includes('routes.g.topics.bad topic!.consumer: must be a Consumer subclass'));
  assert.ok(list.includes('routes.g.topics.ok.extra: unknown option'));
});

test('cross-field checks: no topics at all, heartbeat not below session timeout, backoff bounds', () => {
  assert.deepEqual(problems({ kafka }), ['routes: declare at least one topic (in routes.<group>.topics or topics)']);
  const list = problems({ kafka, routes: { g: { heartbeatIntervalMs: 10_000, sessionTimeoutMs: 6000, retryBackoff: { initialMs: 50, maxMs: 10 }, topics: { t: { consumer: Noop } } } } });
  assert.equal(list.length, 2);
  assert.match(list[0]!, /^routes\.g\.heartbeatIntervalMs: must be lower than sessionTimeoutMs/);
  assert.match(list[1]!, /^routes\.g\.retryBackoff: initialMs \(50\) must not exceed maxMs \(10\)/);
});

test('the default group may not also be declared in routes', () => {
  const list = problems({ kafka, defaultConsumerGroup: 'g', topics: { t: { consumer: Noop } }, routes: { g: { topics: { u: { consumer: Noop } } } } });
  assert.match(list[0]!, /^topics: the default consumer group "g" is also declared in routes/);
});

test('the abstract Consumer itself and plain functions are not consumer classes', () => {
  assert.ok(problems({ kafka, topics: { t: { consumer: Consumer } } })[0]!.endsWith('must be a Consumer subclass'));
  assert.ok(problems({ kafka, topics: { t: { consumer: () => {} } } })[0]!.endsWith('must be a Consumer subclass'));
});

test('parallel.threads: every pool thread by default, never more than the pool or max; 1 inline; invalid values reported', () => {
  const threadsOf = (parallel: object, more: object = {}) =>
    createApp({ kafka, concurrency: 4, topics: { t: { consumer: Noop, parallel: parallel as { max: number }, ...more } } }).route('partita', 't')!.parallel!.threads;
  assert.equal(threadsOf({ max: 32 }), 4);
  assert.equal(threadsOf({ max: 3 }), 3, 'no more lanes than virtual partitions');
  assert.equal(threadsOf({ max: 32, threads: 1 }), 1);
  assert.equal(threadsOf({ max: 32, threads: 16 }), 4, 'no more lanes than threads');
  assert.equal(threadsOf({ max: 32 }, { backend: 'inline' }), 1);
  assert.deepEqual(problems({ kafka, topics: { t: { consumer: Noop, parallel: { max: 4, threads: 0 } } } }), ['topics.t.parallel.threads: Too small: expected number to be >=1']);
});

test('threadMemory: a 16 MiB young generation per worker thread by default, no old-generation limit; overrides and bad values reported', () => {
  const route = { topics: { t: { consumer: Noop } } };
  assert.deepEqual(createApp({ kafka, ...route }).config.threadMemory, { youngGenerationMb: 16 });
  assert.deepEqual(createApp({ kafka, threadMemory: { youngGenerationMb: 48, oldGenerationMb: 512 }, ...route }).config.threadMemory, { youngGenerationMb: 48, oldGenerationMb: 512 });
  const list = problems({ kafka, threadMemory: { youngGenerationMb: 0, oldGenerationMb: 8, stack: 1 }, ...route } as unknown as AppConfig);
  assert.deepEqual(list.map((l) => l.split(':')[0]).sort(), ['threadMemory.oldGenerationMb', 'threadMemory.stack', 'threadMemory.youngGenerationMb']);
});
