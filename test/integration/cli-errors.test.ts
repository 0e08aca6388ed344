/**
 * Bad input gets a clear error and a non-zero exit, never a crash or a hang:
 * an invalid config lists every problem with its path; an unknown
 * --consumer-groups name lists the available groups (exit 2); a missing boot
 * file says which path it looked for; unknown commands and options exit 2;
 * an unreachable broker fails after a bounded retry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, RECORDING_BOOT, runCli } from '../helpers/app.ts';
import { createTopic, kafka, unique } from '../helpers/kafka.ts';

test('invalid config: every problem listed with its path, exit 1', async () => {
  const { code, output } = await runCli(['server', '--boot', join(ROOT, 'test/fixtures/invalid.config.ts')]);
  assert.equal(code, 1);
  assert.match(output, /error \[CONFIG_INVALID\]/);
  for (const path of ['kafka.brokers.0', 'concurrency', 'routes.events.prefetch', 'routes.events.topics.users.consumer', 'routes.events.topics.users.backend', 'tpoics']) {
    assert.match(output, new RegExp(`- ${path.replace(/\./g, '\\.')}: `), `lists ${path}`);
  }
  assert.match(output, /routes\.events\.topics\.users\.consumer: must be a Consumer subclass/);
  assert.doesNotMatch(output, /at .*\(.*\.ts:\d+/, 'no stack trace');
});

test('unknown --consumer-groups name: lists the available groups, exit 2', async () => {
  const { code, output } = await runCli(['server', '--boot', RECORDING_BOOT, '--consumer-groups', 'nope', 'other'], { PARTITA_TEST_GROUP: 'orders' });
  assert.equal(code, 2);
  assert.match(output, /error \[UNKNOWN_CONSUMER_GROUP\]: Unknown consumer groups: nope, other\. Available: orders/);
});

test('missing boot file: names the path, exit 1', async () => {
  const { code, output } = await runCli(['server', '--boot', 'does/not/exist.ts']);
  assert.equal(code, 1);
  assert.match(output, /error \[BOOT_FILE_NOT_FOUND\]: Boot file not found: .*does\/not\/exist\.ts/);
});

test('unknown command and unknown option: exit 2 with usage', async () => {
  const cmd = await runCli(['serve']);
  assert.equal(cmd.code, 2);
  assert.match(cmd.output, /unknown command 'serve'/);
  const opt = await runCli(['server', '--bot', 'x.ts']);
  assert.equal(opt.code, 2);
  assert.match(opt.output, /unknown option '--bot'/);
});

test('unreachable broker: clear error after a bounded retry, exit 1', { timeout: 60_000 }, async () => {
  const started = Date.now();
  const { code, output } = await runCli(['server', '--boot', join(ROOT, 'test/fixtures/unreachable.config.ts')]);
  assert.equal(code, 1);
  assert.match(output, /error \[BROKER_UNREACHABLE\]: Could not reach Kafka at 127\.0\.0\.1:1/);
  assert.ok(Date.now() - started < 45_000, 'gave up within the retry budget');
});

test('a routed topic that does not exist: SUBSCRIBE_FAILED naming it, exit 1, and the topic is not created as a side effect', { timeout: 60_000 }, async () => {
  const topic = unique('missing');
  const { code, output } = await runCli(['server', '--boot', join(ROOT, 'test/fixtures/fatal.config.ts')], { PARTITA_TEST_TOPIC: topic });
  assert.equal(code, 1);
  assert.match(output, new RegExp(`error \\[SUBSCRIBE_FAILED\\]: Consumer group \\S+ could not subscribe to topic ${topic}`));
  // The suite's broker has auto.create.topics.enable=true (Kafka's default): a typo must not become a topic.
  const admin = kafka().admin();
  await admin.connect();
  try {
    assert.ok(!(await admin.listTopics()).includes(topic), `${topic} was created by the failed start`);
  } finally {
    await admin.disconnect();
  }
});

test('a fetcher that crashes beyond repair shuts the process down: FETCHER_CRASHED logged, exit 1, no hang', { timeout: 60_000 }, async () => {
  const topic = unique('fatal');
  await createTopic(topic, 1);
  const { code, output } = await runCli(['server', '--boot', join(ROOT, 'test/fixtures/fatal.config.ts')], { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: unique('fatal-group') });
  assert.equal(code, 1);
  const fatal = output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string; err?: { code?: string } }).find((l) => l.level === 60);
  assert.ok(fatal, 'a fatal log line');
  assert.equal(fatal.err?.code, 'FETCHER_CRASHED');
  assert.match(fatal.msg, /fetcher crashed; shutting down/);
});
