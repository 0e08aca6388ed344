import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consumer, ConfigError, createApp, Responder, topic } from '../../src/index.ts';
import { maskSecrets } from '../../src/cli/describe.ts';

class UsersResponder extends Responder<[user: { id: string; premium?: boolean }, mode?: string]> {
  static override topics = [topic('users_created'), topic('users_premium', { required: false }), topic('audit', { required: false, multipleUsage: true, async: true })];
  respond(user: { id: string; premium?: boolean }, mode = 'ok'): void {
    if (mode !== 'skip-required') this.respondTo('users_created', user, { key: user.id });
    if (user.premium) this.respondTo('users_premium', user);
    if (mode === 'twice') this.respondTo('users_premium', user);
    if (mode === 'undeclared') this.respondTo('users_deleted', user);
    this.respondTo('audit', { id: user.id });
    this.respondTo('audit', { id: user.id, again: true });
  }
}

test('a responder collects its messages: sync and async topics, keys and options kept', async () => {
  const { sync, async } = await new UsersResponder().collect({ id: 'u1', premium: true });
  assert.deepEqual(sync.map((m) => [m.topic, m.key]), [['users_created', 'u1'], ['users_premium', undefined]]);
  assert.deepEqual(async.map((m) => m.value), [{ id: 'u1' }, { id: 'u1', again: true }]);
});

test('contract violations are all reported at once and nothing is returned', async () => {
  await assert.rejects(new UsersResponder().collect({ id: 'u1', premium: true }, 'twice'), (err: Error & { code?: string; problems?: string[] }) => {
    assert.equal(err.code, 'RESPONDER_CONTRACT');
    assert.deepEqual(err.problems, ['topic "users_premium" was used 2 times but is not multipleUsage']);
    return true;
  });
  await assert.rejects(new UsersResponder().collect({ id: 'u1' }, 'skip-required'), /required topic "users_created" was not used/);
  await assert.rejects(new UsersResponder().collect({ id: 'u1' }, 'undeclared'), /UsersResponder broke its topic contract \(nothing was sent\): topic "users_deleted" is not declared in UsersResponder\.topics/);
});

test('respondTo outside respond() is an error, not a silent send', () => {
  const r = new UsersResponder() as unknown as { respondTo(t: string, d: unknown): void };
  assert.throws(() => r.respondTo('users_created', {}), /only valid while respond\(\) runs/);
});

test('config: responder must be a Responder subclass; its topics are validated', () => {
  class C extends Consumer {
    consume(): void {}
  }
  class Bad extends Responder {
    static override topics = [topic('ok'), topic('ok'), topic('bad name!'), topic('x', { kafkaTopic: { partitions: 0 } })];
    respond(): void {}
  }
  assert.throws(
    () => createApp({ kafka: { brokers: ['127.0.0.1:9092'] }, routes: { g: { topics: { a: { consumer: C, responder: Bad }, b: { consumer: C, responder: String as never } } } } }),
    (err: ConfigError) => {
      const paths = err.problems.map((p) => `${p.path}: ${p.message}`);
      assert.ok(paths.some((p) => p.startsWith('routes.g.topics.b.responder: must be a Responder subclass')), paths.join('\n'));
      return true;
    },
  );
  assert.throws(
    () => createApp({ kafka: { brokers: ['127.0.0.1:9092'] }, routes: { g: { topics: { a: { consumer: C, responder: Bad } } } } }),
    (err: ConfigError) => {
      assert.deepEqual(
        err.problems.map((p) => p.path),
        ['routes.g.topics.a.responder.topics.1', 'routes.g.topics.a.responder.topics.2', 'routes.g.topics.a.responder.topics.3.kafkaTopic.partitions'],
      );
      return true;
    },
  );
});

test('maskSecrets hides passwords, keys and certificates at any depth, keeps the rest', () => {
  const masked = maskSecrets({ sasl: { username: 'u', password: 'p' }, ssl: { key: 'k', cert: 'c', ca: 'ca', passphrase: 'x' }, groups: [{ kafka: { sasl: { password: 'q' } } }], fn: function named() {} });
  assert.deepEqual(masked, { sasl: { username: 'u', password: '********' }, ssl: { key: '********', cert: '********', ca: 'ca', passphrase: '********' }, groups: [{ kafka: { sasl: { password: '********' } } }], fn: '[named]' });
});
