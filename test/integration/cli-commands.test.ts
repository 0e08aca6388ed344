/**
 * The CLI beyond `server`: routes, flow, info (secrets masked), topics
 * plan/create against the real broker, console (REPL with the producer),
 * and install → npm install → the scaffolded app's flow and server (its own tests: package.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTopic, createTopic, unique, waitFor } from '../helpers/kafka.ts';
import { PARTITA_BIN, ROOT, httpUrlOf, runCli } from '../helpers/app.ts';

const fixture = (name: string) => join(ROOT, 'test/fixtures', name);
const RESPONDING = fixture('responding.config.ts');

test('routes: every group, topic, consumer class and option, sorted', async () => {
  const env = { PARTITA_TEST_GROUP_A: 'zeta-group', PARTITA_TEST_GROUP_B: 'alpha-group', PARTITA_TEST_TOPIC_A: 'orders', PARTITA_TEST_TOPIC_B: 'audit', PARTITA_TEST_TOPIC_C: 'archive' };
  const { code, output } = await runCli(['routes', '--boot', fixture('two-groups.config.ts')], env);
  assert.equal(code, 0, output);
  const lines = output.trimEnd().split('\n');
  // Groups sorted, topics sorted within a group, options per topic.
  assert.deepEqual(lines.filter((l) => /^\S/.test(l)), ['alpha-group', 'zeta-group']);
  assert.deepEqual(lines.filter((l) => /^ {2}\S/.test(l) && !/^ {2}(settings|brokers):/.test(l)), ['  audit', '  archive (inactive)', '  orders']);
  assert.match(output, /alpha-group\n {2}settings: prefetch 2, commitIntervalMs 200, sessionTimeoutMs 6000,.*\n {2}brokers: 127\.0\.0\.1:\d+\n {2}audit\n {4}consumer: +RecordingConsumer\n {4}backend: +inline\n {4}deserializer: +json\n {4}startFrom: +earliest\n {4}manualOffsets: +false\n/);
  const example = await runCli(['routes', '--boot', join(ROOT, 'examples/events/partita.config.ts')]);
  assert.equal(example.code, 0, example.output);
  assert.match(example.output, /page_views\n {4}consumer: +PageViewsConsumer\n {4}backend: +pool\n[\s\S]*manualOffsets: +true\n {4}filter: +yes/);
});

test('flow: incoming topic → outgoing topics with always/conditionally and exactly once/many', async () => {
  const env = { PARTITA_TEST_TOPIC: 'signups', PARTITA_TEST_GROUP: 'signup-flow', PARTITA_TEST_OUT_A: 'welcome_emails', PARTITA_TEST_OUT_B: 'crm_updates', PARTITA_TEST_DLQ: 'signups_dlq' };
  const { code, output } = await runCli(['flow', '--boot', RESPONDING], env);
  assert.equal(code, 0, output);
  assert.equal(
    output,
    ['signups (signup-flow) → RespondingConsumer', '  ├─ crm_updates     (conditionally, many, async)', '  └─ welcome_emails  (always, many)', '  dead letters → signups_dlq', ''].join('\n'),
  );
  const example = await runCli(['flow', '--boot', join(ROOT, 'examples/events/partita.config.ts')]);
  assert.equal(example.code, 0, example.output);
  assert.match(example.output, /page_views \(demo-events\) → PageViewsConsumer\n {2}└─ page_view_counts +\(always, exactly once\)/);
});

test('info: versions and config, secrets masked at every level', async () => {
  const { code, output } = await runCli(['info', '--boot', fixture('secrets.config.ts')]);
  assert.equal(code, 0, output);
  assert.match(output, /^partita +\d+\.\d+\.\d+\nnode +20\.\d+\.\d+\nkafkajs +2\.2\.4\n/);
  assert.match(output, /local Kafka \(scripts\/kafka\) +4\.\d+\.\d+/);
  for (const secret of ['hunter2-SASL-SECRET', 'GROUP-LEVEL-SECRET', 'PRIVATE-KEY-PEM', 'CLIENT-CERT-PEM', 'KEY-PASSPHRASE']) assert.ok(!output.includes(secret), `${secret} must not be printed`);
  assert.match(output, /"username": "billing-svc",\n\s+"password": "\*{8}"/);
  assert.match(output, /"username": "other",\n\s+"password": "\*{8}"/);
  assert.match(output, /"key": "\*{8}"/);
  assert.match(output, /"ca": "PUBLIC-CA"/); // not a secret
  assert.match(output, /"consumer": "\[RecordingConsumer\]"/);
});

test('topics: plan shows what is missing, create makes it, then plan shows no changes', { timeout: 120_000 }, async () => {
  const env = { PARTITA_TEST_TOPIC: unique('declared'), PARTITA_TEST_GROUP: unique('declared-group') };
  const before = await runCli(['topics', 'plan', '--boot', RESPONDING], env);
  assert.equal(before.code, 0, before.output);
  assert.match(before.output, new RegExp(`^\\+ ${env.PARTITA_TEST_TOPIC}: create with 4 partition\\(s\\), replication factor 1, retention\\.ms=3600000\\n1 to create, 0 to change\\n$`));
  const created = await runCli(['topics', 'create', '--boot', RESPONDING], env);
  assert.equal(created.code, 0, created.output);
  assert.equal(created.output, `created ${env.PARTITA_TEST_TOPIC}\n`);
  const after = await runCli(['topics', 'plan', '--boot', RESPONDING], env);
  assert.equal(after.code, 0, after.output);
  assert.equal(after.output, `= ${env.PARTITA_TEST_TOPIC}: up to date\nNo changes: every declared topic matches.\n`);
  const again = await runCli(['topics', 'create', '--boot', RESPONDING], env);
  assert.equal(again.output, 'nothing to create\n');

  // A topic that exists with fewer partitions and another retention: reported, not applied.
  const drifted = unique('drifted');
  await createTopic(drifted, 2);
  const drift = await runCli(['topics', 'plan', '--boot', RESPONDING], { ...env, PARTITA_TEST_TOPIC: drifted });
  assert.match(drift.output, new RegExp(`~ ${drifted}: partitions 2 → 4 \\(not applied by \`topics create\`; adding partitions remaps keys\\)\\n~ ${drifted}: retention\\.ms \\d+ → 3600000 \\(not applied by \`topics create\`\\)\\n0 to create, 2 to change\\n`));
});

test('console: a REPL with the app loaded; the producer writes to Kafka', { timeout: 60_000 }, async () => {
  const out = unique('console-out');
  await createTopic(out, 1);
  const child = spawn(process.execPath, [PARTITA_BIN, 'console', '--boot', RESPONDING], { env: { ...process.env, PARTITA_TEST_OUT_B: out }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  child.stdin.write(`app.consumerGroups.map((g) => g.name).join(',')\n`);
  child.stdin.write(`(await producer.produceSync({ topic: '${out}', key: 'from-console', value: 'hello' })).length\n`);
  child.stdin.end('.exit\n');
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  assert.equal(code, 0, output);
  assert.match(output, /in scope: app, producer, routes, partita/);
  assert.match(output, /'responding'/);
  const [m] = await readTopic(out, 1);
  assert.equal(m!.key, 'from-console');
  assert.equal(m!.value, 'hello'); // the topic's string serializer from the boot file
});

test('install: scaffolds an app that installs, describes its flow and whose server starts', { timeout: 240_000 }, async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'partita-install-')), 'shop-app');
  const installed = await runCli(['install', dir]);
  assert.equal(installed.code, 0, installed.output);
  assert.match(installed.output, /created 8 files in .*shop-app:\n {2}\.gitignore\n {2}README\.md\n {2}consumers\/users-consumer\.ts\n {2}package\.json\n {2}partita\.config\.ts\n {2}responders\/users-responder\.ts\n {2}test\/integration\/users\.test\.ts\n {2}test\/users\.test\.ts\n/);
  const again = await runCli(['install', dir]);
  assert.equal(again.code, 1);
  assert.match(again.output, /error \[INSTALL_TARGET_NOT_EMPTY\]: .*shop-app is not empty/);

  const npm = (args: string[], timeout = 120_000) => spawnSync('npm', args, { cwd: dir, encoding: 'utf8', timeout, env: { ...process.env, PARTITA_HTTP_PORT: '0' } });
  const inst = npm(['install', '--prefer-offline', '--no-audit', '--no-fund']);
  assert.equal(inst.status, 0, `${inst.stdout}${inst.stderr}`);
  // The scaffold's own tests (broker-free and integration) run in package.test.ts, on the packed package users get.
  const flow = npm(['run', '-s', 'flow']);
  assert.match(flow.stdout, /users \(shop-app-consumers\) → UsersConsumer\n {2}├─ users_created +\(always, exactly once\)\n {2}└─ users_premium_created +\(conditionally, exactly once\)/);

  // What the scaffold tells its user to run next: create the declared topics, then `npx partita server`.
  const topics = npm(['run', '-s', 'topics:create']);
  assert.equal(topics.status, 0, `${topics.stdout}${topics.stderr}`);
  const server = spawn('npx', ['partita', 'server'], { cwd: dir, env: { ...process.env, PARTITA_HTTP_PORT: '0', PARTITA_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  server.stdout.on('data', (d) => (out += d));
  server.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => server.on('exit', r));
  try {
    await waitFor(() => /joined consumer group/.test(out) || server.exitCode !== null, 'scaffolded server to join its group', 60_000);
    assert.match(out, /joined consumer group/, `the scaffolded server joined its group\n${out.slice(-3000)}`);
    const url = httpUrlOf({ output: () => out } as never)!;
    assert.equal((await fetch(`${url}/ready`)).status, 200);
  } finally {
    // npx does not wait for its child on SIGTERM: signal the partita process itself (its pid is in every log line).
    const pid = Number(/"pid":(\d+)/.exec(out)?.[1]);
    try {
      if (pid > 0) process.kill(pid, 'SIGTERM');
      else process.kill(-server.pid!, 'SIGKILL');
    } catch {
      // Already gone: the assertions above say why.
    }
  }
  const timer = setTimeout(() => process.kill(-server.pid!, 'SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
  assert.match(out, /partita server stopped/);
});

test('every command has --help (exit 0) and rejects unknown options with exit 2', { timeout: 120_000 }, async () => {
  const commands = [['server'], ['routes'], ['flow'], ['info'], ['install'], ['topics', 'plan'], ['topics', 'create'], ['console']];
  const runs = await Promise.all(commands.flatMap((c) => [runCli([...c, '--help']), runCli([...c, '--bogus'])]));
  commands.forEach((c, i) => {
    const [help, bogus] = [runs[2 * i]!, runs[2 * i + 1]!];
    assert.equal(help.code, 0, `${c.join(' ')} --help: ${help.output}`);
    assert.match(help.output, new RegExp(`Usage: partita ${c.join(' ')}`));
    assert.equal(bogus.code, 2, `${c.join(' ')} --bogus: ${bogus.output}`);
    assert.match(bogus.output, /error: unknown option '--bogus'/);
  });
});
