/**
 * Authentication and TLS failures get their own codes and fail fast:
 * - against a one-node cluster of its own whose client listener is
 *   SASL_PLAINTEXT (PLAIN; port 19900, controller 20000): a wrong password
 *   makes `partita server` (and `partita topics plan`) exit 1 with
 *   BROKER_AUTH_FAILED at once (kafkajs does not retry a refused login),
 *   the right one consumes every id produced by a SASL client;
 * - TLS against the suite's plaintext listener, and TLS to a server with a
 *   self-signed certificate: BROKER_TLS_FAILED (after the connectRetries
 *   budget: kafkajs treats a TLS failure as a connection error), exit 1.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { startCluster, stopCluster } from '../../scripts/kafka/broker.ts';
import { brokers, createTopic, unique, waitFor } from '../helpers/kafka.ts';
import { ROOT, idStats, messageRecords, runCli, startAppProcess, tempFile } from '../helpers/app.ts';
import { hasOpenssl, makeCerts, startTlsServer } from '../helpers/tls.ts';

const { Kafka, logLevel } = kafkajs;
const SECURED_BOOT = join(ROOT, 'test/fixtures/secured.config.ts');
const PORT = 19900; // controller on 20000: clear of every other test cluster (9092, 19500, 19700)
const USERS = { admin: 'admin-secret', alice: 'alice-secret' };
let bootstrap = '';

before(async () => {
  const info = await startCluster({ nodes: 1, port: PORT, fresh: true, heapMb: 512, saslPlainUsers: USERS });
  bootstrap = info.bootstrap;
});

after(async () => {
  await stopCluster({ nodes: 1, port: PORT });
});

function saslEnv(password: string, extra: Record<string, string> = {}): Record<string, string> {
  return { KAFKA_BROKERS: bootstrap, PARTITA_TEST_SASL_USER: 'alice', PARTITA_TEST_SASL_PASSWORD: password, ...extra };
}

test('wrong SASL password: BROKER_AUTH_FAILED at once, exit 1 (server and topics plan)', { timeout: 120_000 }, async () => {
  const started = Date.now();
  const server = await runCli(['server', '--boot', SECURED_BOOT], saslEnv('wrong', { PARTITA_TEST_TOPIC: unique('auth') }));
  const tookMs = Date.now() - started;
  assert.equal(server.code, 1, server.output);
  assert.match(server.output, /error \[BROKER_AUTH_FAILED\]: Authentication with Kafka at 127\.0\.0\.1:19900 failed: SASL PLAIN authentication failed: .*Invalid username or password/);
  assert.doesNotMatch(server.output, /BROKER_UNREACHABLE/);
  // connectRetries is 5 (about 9 s of backoff): a refused login must not spend it.
  assert.equal(server.output.match(/"retryCount":[1-9]/g), null, 'no connection retry');
  const times = server.output.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { time: number }).time);
  assert.ok(times.at(-1)! - times[0]! < 5000, `from HTTP up to the last log line: ${times.at(-1)! - times[0]!} ms`);
  assert.ok(tookMs < 60_000, `exited within ${tookMs} ms (process start included)`);

  const plan = await runCli(['topics', 'plan', '--boot', SECURED_BOOT], saslEnv('wrong'));
  assert.equal(plan.code, 1, plan.output);
  assert.match(plan.output, /error \[BROKER_AUTH_FAILED\]/);
});

test('right SASL password: consumes every id produced by a SASL client', { timeout: 180_000 }, async () => {
  const topic = unique('auth-ok');
  const client = new Kafka({ clientId: 'partita-test-sasl', brokers: [bootstrap], sasl: { mechanism: 'plain', username: 'alice', password: USERS.alice }, logLevel: logLevel.NOTHING });
  await createTopic(topic, 2, 1, client);
  const producer = client.producer();
  await producer.connect();
  const ids = [...Array(200).keys()];
  try {
    await producer.send({ topic, acks: -1, messages: ids.map((id) => ({ key: String(id), value: JSON.stringify({ id }) })) });
  } finally {
    await producer.disconnect();
  }
  const out = tempFile('records.jsonl');
  const p = startAppProcess(saslEnv(USERS.alice, { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: unique('auth-group'), PARTITA_TEST_OUT: out }), ['server', '--boot', SECURED_BOOT]);
  try {
    await waitFor(() => idStats(messageRecords(out)).distinct.size >= ids.length || p.child.exitCode !== null, 'every id consumed', 90_000);
    assert.equal(p.child.exitCode, null, p.output().slice(-3000));
  } finally {
    p.child.kill('SIGTERM');
  }
  assert.equal((await p.exited).code, 0, p.output().slice(-3000));
  assert.deepEqual([...idStats(messageRecords(out)).distinct].sort((a, b) => a - b), ids);
});

test('TLS against the plaintext listener: BROKER_TLS_FAILED, exit 1', { timeout: 120_000 }, async () => {
  const { code, output } = await runCli(['server', '--boot', SECURED_BOOT], { KAFKA_BROKERS: brokers().join(','), PARTITA_TEST_SSL: '1', PARTITA_TEST_CONNECT_RETRIES: '1', PARTITA_TEST_TOPIC: unique('tls') });
  assert.equal(code, 1, output);
  assert.match(output, /error \[BROKER_TLS_FAILED\]: TLS connection to Kafka at [^ ]+ failed: .*before secure TLS connection was established; the handshake did not complete: is this listener TLS/);
});

test('TLS to a self-signed certificate: BROKER_TLS_FAILED naming DEPTH_ZERO_SELF_SIGNED_CERT, exit 1', { skip: !hasOpenssl && 'openssl is not on PATH', timeout: 120_000 }, async () => {
  const tls = await startTlsServer(makeCerts().self);
  try {
    const { code, output } = await runCli(['server', '--boot', SECURED_BOOT], { KAFKA_BROKERS: tls.address, PARTITA_TEST_SSL: '1', PARTITA_TEST_CONNECT_RETRIES: '1', PARTITA_TEST_TOPIC: unique('tls') });
    assert.equal(code, 1, output);
    assert.match(output, /error \[BROKER_TLS_FAILED\]: TLS connection to Kafka at 127\.0\.0\.1:\d+ failed \(DEPTH_ZERO_SELF_SIGNED_CERT\): .*self-signed certificate; the broker's certificate is not trusted/);
  } finally {
    await tls.close();
  }
});
