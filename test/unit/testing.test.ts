/**
 * partita/testing's testConsumer: a route's consumer run in-process without a
 * broker, with the production semantics of the runner (persistent instance,
 * hooks, deserializer, filter, timeouts, manual offsets, responder contracts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consumer, createApp, Responder, topic, type Messages } from '../../src/index.ts';
import { testConsumer } from '../../src/testing.ts';

class Echo extends Responder<[id: number, premium: boolean]> {
  static override topics = [topic('echoed'), topic('premium', { required: false })];
  respond(id: number, premium: boolean): void {
    this.respondTo('echoed', { id }, { key: String(id), headers: { source: 'echo' } });
    if (premium) this.respondTo('premium', { id });
  }
}

class Broken extends Responder<[]> {
  static override topics = [topic('echoed')];
  respond(): void {
    this.respondTo('undeclared', { nope: true });
  }
}

const log: string[] = [];

class Users extends Consumer<{ id: number; premium?: boolean }> {
  seen = 0;
  override initialized(): void {
    log.push(`initialized ${this.partition}`);
  }
  async consume(messages: Messages<{ id: number; premium?: boolean }>): Promise<void> {
    for (const m of messages) {
      this.seen += 1;
      if (m.payload.id < 0) throw Object.assign(new Error(`bad id ${m.payload.id}`), { code: 'BAD_ID' });
      await this.respondWith(m.payload.id, m.payload.premium === true);
      this.produceAsync({ topic: 'audit', value: { id: m.payload.id, attempt: this.attempt, key: m.keyString, h: m.header('trace') } });
    }
  }
  override revoked(): void {
    log.push(`revoked ${this.partition}`);
  }
}

class Slow extends Consumer {
  async consume(): Promise<void> {
    await new Promise((r) => setTimeout(r, 300));
  }
}

class Marking extends Consumer<string> {
  consume(messages: Messages<string>): void {
    for (const m of messages) if (m.payload === 'done') this.markAsConsumed(m);
  }
}

class RateLimited extends Consumer<{ id: number; limited?: boolean }> {
  eofs = 0;
  consume(messages: Messages<{ id: number; limited?: boolean }>): void {
    for (const m of messages) {
      if (m.payload.limited) {
        this.seek(m.offset);
        this.pause(1000);
        return;
      }
    }
  }
  override eofed(): void {
    this.eofs += 1;
  }
}

const app = createApp({
  kafka: { brokers: ['127.0.0.1:1'] }, // never contacted
  routes: {
    main: {
      topics: {
        users: { consumer: Users, responder: Echo },
        slow: { consumer: Slow, timeoutMs: 50 },
        marks: { consumer: Marking, manualOffsets: true, deserializer: 'string' },
        broken: { consumer: Users, responder: Broken },
        limited: { consumer: RateLimited, eofed: true },
        upper: { consumer: Marking, manualOffsets: true, deserializer: (raw) => raw!.toString('utf8').toLowerCase() },
      },
    },
    other: { topics: { users: { consumer: Users, responder: Echo } } },
  },
});

test('consume() runs on one persistent instance; what it and its responder produce is recorded, serialized', async () => {
  log.length = 0;
  const t = testConsumer<Users>(app, 'users', { group: 'main', partition: 3 });
  const r1 = await t.consume([{ payload: { id: 1 }, key: 'k1', headers: { trace: 'abc' } }, { payload: { id: 2, premium: true } }]);
  assert.deepEqual(r1, { messages: 2, filtered: 0, commitOffset: 2 });
  await t.consume({ payload: { id: 3 } }, { attempt: 2 });
  assert.equal(t.consumer.seen, 3, 'the same instance saw both batches');
  assert.deepEqual(log, ['initialized 3'], 'initialized() once, before the first batch');
  assert.deepEqual(t.producedTo('echoed').map((m) => [m.key, m.payload, m.headers, m.sync]), [
    ['1', { id: 1 }, { source: 'echo' }, true],
    ['2', { id: 2 }, { source: 'echo' }, true],
    ['3', { id: 3 }, { source: 'echo' }, true],
  ]);
  assert.deepEqual(t.producedTo('premium').map((m) => m.payload), [{ id: 2 }]);
  assert.deepEqual(t.producedTo('audit').map((m) => [m.payload, m.sync]), [
    [{ id: 1, attempt: 1, key: 'k1', h: 'abc' }, false],
    [{ id: 2, attempt: 1, key: null }, false],
    [{ id: 3, attempt: 2, key: null }, false],
  ]);
  assert.equal(t.committedOffset, 3);
  await t.revoke();
  assert.deepEqual(log, ['initialized 3', 'revoked 3']);
  await t.consume({ payload: { id: 4 } });
  assert.equal(t.consumer.seen, 1, 'a fresh instance after the revoke');
});

test("a consumer's error rejects consume() with that error; the batch commits nothing", async () => {
  const t = testConsumer<Users>(app, 'users', { group: 'main' });
  await assert.rejects(t.consume([{ payload: { id: 1 } }, { payload: { id: -1 } }]), { code: 'BAD_ID', message: 'bad id -1' });
  assert.equal(t.committedOffset, null);
});

test("a responder that breaks its topic contract fails the batch (RESPONDER_CONTRACT) and sends nothing", async () => {
  const t = testConsumer(app, 'broken');
  await assert.rejects(t.consume({ payload: { id: 1 } }), { code: 'RESPONDER_CONTRACT' });
  assert.deepEqual(t.producedTo('undeclared'), []);
  assert.deepEqual(t.producedTo('echoed'), []);
});

test("the topic's timeoutMs applies (JOB_TIMEOUT)", async () => {
  const t = testConsumer(app, 'slow');
  await assert.rejects(t.consume({ value: 'x' }), { code: 'JOB_TIMEOUT' });
});

test('manual offsets: only what was marked would be committed; raw values go through the route deserializer', async () => {
  const t = testConsumer(app, 'marks');
  assert.equal((await t.consume([{ value: 'a' }, { value: 'b' }])).commitOffset, null);
  assert.equal((await t.consume([{ value: 'done', offset: 10 }, { value: 'c' }])).commitOffset, 11);
  assert.equal(t.committedOffset, 11);
  const u = testConsumer(app, 'upper');
  assert.equal((await u.consume([{ value: 'DONE' }])).commitOffset, 1, 'the function deserializer ran');
});

test('a topic routed by several groups needs { group }; unknown topics and groups are named', () => {
  assert.throws(() => testConsumer(app, 'users'), /routed by several consumer groups \(main, other\): pass \{ group \}/);
  assert.throws(() => testConsumer(app, 'nope'), /no consumer group routes topic "nope"/);
  assert.throws(() => testConsumer(app, 'slow', { group: 'other' }), /consumer group "other" does not route topic "slow" \(routed by: main\)/);
  const t = testConsumer(app, 'slow');
  assert.throws(() => t.consumer, /created by the first consume\(\)/);
});

test('offsets increase: within a batch and across batches', async () => {
  const t = testConsumer(app, 'marks');
  await t.consume([{ value: 'a', offset: 5 }]);
  await assert.rejects(t.consume([{ value: 'b', offset: 5 }]), /offset 5 must be a whole number ≥ 6/);
});

test('seek back into the batch and pause: the batch counts as processed only up to the seek; the report says what was asked', async () => {
  const t = testConsumer<RateLimited>(app, 'limited');
  const report = await t.consume([{ payload: { id: 0 } }, { payload: { id: 1 } }, { payload: { id: 2, limited: true } }, { payload: { id: 3 } }]);
  assert.deepEqual(report, { messages: 4, filtered: 0, commitOffset: 2, control: { seek: 2, pauseMs: 1000 } });
  assert.equal(t.committedOffset, 2, 'the limited message and those after it are not committed');
  await t.eofed();
  assert.equal(t.consumer.eofs, 1);
});

test('parallel (virtual partitions): same key → same instance in offset order; a failure commits only the contiguous prefix', async () => {
  const seen: Array<{ vp: number | null; key: string | null; offset: number }> = [];
  const instances = new Set<KeyOrder>();
  class KeyOrder extends Consumer<{ fail?: boolean }> {
    async consume(messages: Messages<{ fail?: boolean }>): Promise<void> {
      instances.add(this);
      for (const m of messages) {
        await new Promise((r) => setTimeout(r, Math.random() * 3));
        if (m.payload.fail) throw new Error(`failed at ${m.offset}`);
        seen.push({ vp: this.virtualPartition, key: m.keyString, offset: m.offset });
      }
    }
  }
  const vpApp = createApp({ kafka: { brokers: ['127.0.0.1:1'] }, routes: { g: { topics: { keyed: { consumer: KeyOrder, parallel: { max: 4 } } } } } });
  const t = testConsumer<KeyOrder>(vpApp, 'keyed');
  const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  await t.consume(Array.from({ length: 80 }, (_, i) => ({ key: keys[i % 8]!, payload: {} })));
  assert.equal(seen.length, 80);
  assert.equal(t.committedOffset, 80);
  for (const k of keys) {
    const offsets = seen.filter((s) => s.key === k).map((s) => s.offset);
    assert.deepEqual(offsets, [...offsets].sort((x, y) => x - y), `key ${k} in offset order`);
    assert.equal(new Set(seen.filter((s) => s.key === k).map((s) => s.vp)).size, 1, `key ${k} on one virtual partition`);
  }
  const vps = new Set(seen.map((s) => s.vp));
  assert.ok(vps.size > 1 && [...vps].every((v) => v !== null && v >= 0 && v < 4), `virtual partitions used: ${[...vps]}`);
  assert.equal(instances.size, vps.size, 'one instance per virtual partition');
  // The next batch reuses them.
  await t.consume(Array.from({ length: 8 }, (_, i) => ({ key: keys[i]!, payload: {} })));
  assert.equal(instances.size, vps.size, 'instances kept across batches');

  // Offset 90's key fails: the batch is done only below it, whatever the other keys finished.
  seen.length = 0;
  const batch = Array.from({ length: 16 }, (_, i) => ({ key: keys[i % 8]!, payload: { fail: 88 + i === 90 } }));
  await assert.rejects(t.consume(batch), /failed at 90/);
  assert.equal(t.committedOffset, 90, 'committed up to the failed message, not past it');
  assert.ok(seen.some((s) => s.offset > 90), 'other keys went on past it (they run again on the retry)');
});
