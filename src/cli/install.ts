/**
 * `partita install [dir]`: scaffolds a new app into an empty (or new)
 * directory — boot file, a consumer with a responder, a broker-free test
 * (partita/testing's testConsumer), an integration test against a real
 * broker, README — so that `npm install && npx partita server` runs it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InstallError } from '../errors.ts';

const PARTITA_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * What the scaffold depends on by default: from a checkout of the repository
 * (sources next to this file) a link to that checkout; from the installed
 * package the registry release it is (`^<version>`). `--partita SPEC` picks
 * anything npm understands (a tarball, a git URL, a version).
 */
export function defaultPartitaSpec(): string {
  if (existsSync(join(PARTITA_ROOT, 'src/index.ts'))) return `file:${PARTITA_ROOT}`;
  const { version } = JSON.parse(readFileSync(join(PARTITA_ROOT, 'package.json'), 'utf8')) as { version: string };
  return `^${version}`;
}

function packageName(dir: string): string {
  const n = basename(dir).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '');
  return n || 'partita-app';
}

export function scaffoldFiles(name: string, partitaSpec: string): Record<string, string> {
  const group = `${name}-consumers`;
  return {
    'package.json': `${JSON.stringify(
      {
        name,
        version: '0.1.0',
        private: true,
        type: 'module',
        engines: { node: '>=20' },
        scripts: {
          start: 'partita server',
          routes: 'partita routes',
          flow: 'partita flow',
          'topics:create': 'partita topics create',
          test: 'node --import partita/register --test test/users.test.ts',
          'test:integration': 'node --import partita/register --test test/integration/users.test.ts',
        },
        dependencies: { partita: partitaSpec },
        // The app is TypeScript: tsx loads it (an optional peer dependency of partita).
        devDependencies: { tsx: '^4.19.0' },
      },
      null,
      2,
    )}\n`,
    'partita.config.ts': `/**
 * The boot file: \`partita server\` and every worker thread import it.
 * KAFKA_BROKERS (host:port,…) points it at your cluster.
 */
import { createApp } from 'partita';
import { UsersConsumer } from './consumers/users-consumer.ts';
import { UsersResponder } from './responders/users-responder.ts';

export default createApp({
  kafka: { brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: '${name}' },
  http: { port: Number(process.env.PARTITA_HTTP_PORT ?? 9394) },
  routes: {
    '${group}': {
      topics: {
        users: {
          consumer: UsersConsumer,
          responder: UsersResponder,
          // \`partita topics create\` makes it (and the responder's topics) as declared.
          kafkaTopic: { partitions: 3 },
        },
      },
    },
  },
});
`,
    'consumers/users-consumer.ts': `import { Consumer, type Messages } from 'partita';

export interface User {
  id: string;
  name: string;
  premium?: boolean;
}

/** One instance per partition, kept across batches. */
export class UsersConsumer extends Consumer<User> {
  async consume(messages: Messages<User>): Promise<void> {
    for (const message of messages) {
      // Produced messages are acknowledged by Kafka before this batch's offsets are committed.
      await this.respondWith(message.payload);
    }
  }
}
`,
    'responders/users-responder.ts': `import { Responder, topic } from 'partita';
import type { User } from '../consumers/users-consumer.ts';

/** Where a consumed user goes: always to users_created, to users_premium_created when premium. */
export class UsersResponder extends Responder<[user: User]> {
  static override topics = [
    topic('users_created', { kafkaTopic: { partitions: 3 } }),
    topic('users_premium_created', { required: false, kafkaTopic: { partitions: 1 } }),
  ];

  respond(user: User): void {
    this.respondTo('users_created', { ...user, createdAt: new Date().toISOString() }, { key: user.id });
    if (user.premium) this.respondTo('users_premium_created', user, { key: user.id });
  }
}
`,
    'test/users.test.ts': `/**
 * UsersConsumer without a broker: partita/testing's testConsumer runs it on
 * its route (the responder's topic contract applies) and records what it
 * produced. Fast: no Kafka, no threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testConsumer } from 'partita/testing';
import app from '../partita.config.ts';

test('every user goes to users_created; premium users to users_premium_created too', async () => {
  const t = testConsumer(app, 'users');
  await t.consume([
    { key: 'u1', payload: { id: 'u1', name: 'Ada', premium: true } },
    { key: 'u2', payload: { id: 'u2', name: 'Grace' } },
  ]);
  assert.deepEqual(t.producedTo('users_created').map((m) => [m.key, (m.payload as { name: string }).name]), [['u1', 'Ada'], ['u2', 'Grace']]);
  assert.deepEqual(t.producedTo('users_premium_created').map((m) => m.key), ['u1']);
  assert.equal(t.committedOffset, 2, 'both offsets would be committed');
});

test('a message that is not JSON fails the batch (the runtime retries it)', async () => {
  const t = testConsumer(app, 'users');
  await assert.rejects(t.consume({ value: 'not json' }), { code: 'PAYLOAD_INVALID' });
  assert.deepEqual(t.produced, []);
});
`,
    'test/integration/users.test.ts': `/**
 * Runs the app in-process against the broker in KAFKA_BROKERS (default
 * 127.0.0.1:9092): a user produced to \`users\` comes out on \`users_created\`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Server } from 'partita';
import { ensureTopics, readMessages } from 'partita/testing';
import app from '../../partita.config.ts';

const bootFile = fileURLToPath(new URL('../../partita.config.ts', import.meta.url));

test('a premium user is answered on users_created and users_premium_created', { timeout: 120_000 }, async () => {
  await ensureTopics(app);
  const server = await Server.start({ app, bootFile });
  try {
    const id = \`user-\${Date.now()}\`;
    await app.producer.produceSync({ topic: 'users', key: id, value: { id, name: 'Ada', premium: true } });
    const [created] = await readMessages(app, 'users_created', { where: (m) => m.key === id, timeoutMs: 60_000 });
    assert.equal((created!.payload as { name: string }).name, 'Ada');
    const [premium] = await readMessages(app, 'users_premium_created', { where: (m) => m.key === id, timeoutMs: 60_000 });
    assert.equal((premium!.payload as { id: string }).id, id);
  } finally {
    await server.stop();
    await app.producer.disconnect();
  }
});
`,
    '.gitignore': 'node_modules/\n',
    'README.md': `# ${name}

A [Partita](https://www.npmjs.com/package/partita) app: \`users\` → \`UsersConsumer\` → \`UsersResponder\` →
\`users_created\` (always) and \`users_premium_created\` (premium users only).

\`\`\`sh
npm install
npx partita topics create      # creates the declared topics (KAFKA_BROKERS, default 127.0.0.1:9092)
npx partita server             # runs the consumers; metrics on http://127.0.0.1:9394/metrics
npm test                       # the consumer without a broker (partita/testing's testConsumer)
npm run test:integration       # the app against the real broker
\`\`\`

\`npx partita routes\` lists the routes, \`npx partita flow\` the data flow,
\`npx partita console\` opens a REPL with \`app\` and \`producer\`.
`,
  };
}

/** Writes the scaffold; refuses a non-empty directory. Returns the files written. */
export function install(dir: string, partitaSpec = defaultPartitaSpec()): string[] {
  const target = resolve(dir);
  if (existsSync(target)) {
    const entries = readdirSync(target);
    if (entries.length > 0) throw new InstallError(target, entries);
  }
  const files = scaffoldFiles(packageName(target), partitaSpec);
  for (const [rel, content] of Object.entries(files)) {
    const path = join(target, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  return Object.keys(files).sort();
}
