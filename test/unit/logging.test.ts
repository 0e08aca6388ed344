/**
 * Log output: kafkajs's transient response errors (retried by kafkajs) are
 * debug lines, not level-50 errors; the log format is JSON lines unless asked
 * for pretty (or on a terminal); `--log-format` takes json or pretty only and
 * reaches the server's own lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { kafkajsLogLevel } from '../../src/kafka/client.ts';

const ROOT = join(import.meta.dirname, '../..');
const { logLevel } = kafkajs;

test('kafkajs lines: transient coordinator errors while retrying and the consumer crash lines Partita reports itself are debug; an unreachable broker is a warning; real errors stay errors', () => {
  // As kafkajs's Connection logs a failed response (the namespace comes separately).
  const response = (error: string) => ({ message: 'Response GroupCoordinator(key: 10, version: 2)', error });
  assert.equal(kafkajsLogLevel(logLevel.ERROR, response('The group coordinator is not available')), 'debug');
  assert.equal(kafkajsLogLevel(logLevel.ERROR, response("The coordinator is loading and hence can't process requests for this group")), 'debug');
  assert.equal(kafkajsLogLevel(logLevel.ERROR, response('This is not the correct coordinator for this group')), 'debug');
  assert.equal(kafkajsLogLevel(logLevel.ERROR, response('The group is rebalancing, so a rejoin is needed')), 'debug', 'a heartbeat learning of a rebalance: kafkajs rejoins');
  assert.equal(kafkajsLogLevel(logLevel.ERROR, response('Not authorized to access group: Group authorization failed')), 'error', 'not retriable');
  // The consumer's crash and restart: Partita logs the crash itself, once (a warning when the consumer starts again, FETCHER_CRASHED when not).
  assert.equal(kafkajsLogLevel(logLevel.ERROR, { message: "[Consumer] Crash: KafkaJSProtocolError: The coordinator is loading and hence can't process requests for this group", error: 'x' }), 'debug');
  assert.equal(kafkajsLogLevel(logLevel.ERROR, { message: '[Consumer] Restarting the consumer in 300ms' }), 'debug');
  // A broker down while kafkajs retries it: a degraded cluster, a warning.
  assert.equal(kafkajsLogLevel(logLevel.ERROR, { message: '[Connection] Connection error: connect ECONNREFUSED 127.0.0.1:19094' }), 'warn');
  assert.equal(kafkajsLogLevel(logLevel.ERROR, { message: '[BrokerPool] Failed to connect to broker, reconnecting' }), 'warn');
  assert.equal(kafkajsLogLevel(logLevel.ERROR, { message: '[Connection] Connection timeout' }), 'warn');
  assert.equal(kafkajsLogLevel(logLevel.ERROR, { message: '[Runner] Something else failed' }), 'error', 'anything else stays an error');
  assert.equal(kafkajsLogLevel(logLevel.WARN, { message: 'something' }), 'warn');
  assert.equal(kafkajsLogLevel(logLevel.INFO, { message: 'something' }), null);
  assert.equal(kafkajsLogLevel(logLevel.WARN, { message: 'Limiting retries for the idempotent producer to 5' }), null);
});

/** Runs a logger in a child (stdout a pipe, as in CI and under log shippers) and returns what it printed. */
function logLine(env: Record<string, string>, format?: string): string {
  const code = `const { createLogger } = await import(${JSON.stringify(join(ROOT, 'src/logger.ts'))}); createLogger(${format ? `{ format: '${format}' }` : ''}).info({ topic: 't' }, 'hello there');`;
  const r = spawnSync(process.execPath, ['--import', join(ROOT, 'bin/register.js'), '--input-type=module', '-e', code], { encoding: 'utf8', env: { ...process.env, PARTITA_LOG_FORMAT: '', ...env } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('log format: JSON lines when stdout is not a terminal; pretty on request (env or option)', () => {
  const json = JSON.parse(logLine({})) as { level: number; msg: string; topic: string };
  assert.equal(json.level, 30);
  assert.equal(json.msg, 'hello there');
  for (const pretty of [logLine({ PARTITA_LOG_FORMAT: 'pretty' }), logLine({}, 'pretty')]) {
    assert.throws(() => JSON.parse(pretty), 'not JSON');
    assert.match(pretty, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(partita\/\d+\): hello there\n\s+topic: "t"$/);
  }
  assert.doesNotThrow(() => JSON.parse(logLine({ PARTITA_LOG_FORMAT: 'json' })));
});

test('--log-format: json or pretty only (exit 2 otherwise); pretty reaches the server\'s own lines', () => {
  const cli = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/partita.js'), ...args], { encoding: 'utf8', cwd: ROOT, env: { ...process.env, PARTITA_LOG_FORMAT: '' } });
  const bad = cli(['server', '--log-format', 'xml']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /argument 'xml' is invalid\. Allowed choices are json, pretty/);
  const pretty = cli(['server', '--log-format', 'pretty', '--boot', 'no-such-boot.ts']);
  assert.notEqual(pretty.status, 0);
  const out = `${pretty.stdout}${pretty.stderr}`;
  assert.match(out, /BOOT_FILE_NOT_FOUND/);
  assert.ok(!out.split('\n').some((l) => l.startsWith('{')), `no JSON lines:\n${out}`);
});

/**
 * A child whose warnings go through logProcessWarnings (or, `routed` false, Node's own printer):
 * an app's warning, then kafkajs's own request queue arming its re-check timer with nothing pending.
 */
function warningsOf(routed: boolean): { stdout: string; stderr: string } {
  const code = `
    const { createLogger } = await import(${JSON.stringify(join(ROOT, 'src/logger.ts'))});
    const { logProcessWarnings } = await import(${JSON.stringify(join(ROOT, 'src/cli/process-warnings.ts'))});
    const { createRequire } = await import('node:module');
    if (${routed}) logProcessWarnings(createLogger({ format: 'json', level: 'debug' }));
    process.emitWarning('something odd', 'ExampleWarning');
    const RequestQueue = createRequire(${JSON.stringify(join(ROOT, 'package.json'))})('kafkajs/src/network/requestQueue/index.js');
    const queue = new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 1000, clientId: 'c', broker: 'b', logger: { debug() {}, info() {}, warn() {}, error() {} } });
    queue.checkPendingRequests();
    await new Promise((r) => setTimeout(r, 50));
    process.exit(0); // kafkajs as is keeps re-arming its timer (see src/kafka/request-queue-idle.ts)`;
  const r = spawnSync(process.execPath, ['--import', join(ROOT, 'bin/register.js'), '--input-type=module', '-e', code], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', NODE_NO_WARNINGS: '' } });
  assert.equal(r.status, 0, r.stderr);
  return { stdout: r.stdout, stderr: r.stderr };
}

test("server's process warnings: log lines, not Node's stderr text; kafkajs's negative timer (Node 24 warns once) is debug", () => {
  const warnsNegative = Number(process.versions.node.split('.')[0]) >= 24;
  const plain = warningsOf(false);
  assert.match(plain.stderr, /ExampleWarning: something odd/, "Node's own printer");
  if (warnsNegative) assert.match(plain.stderr, /TimeoutNegativeWarning/, 'kafkajs arms a timer with a negative delay');
  const routed = warningsOf(true);
  assert.doesNotMatch(routed.stderr, /Warning/, routed.stderr);
  const lines = routed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; warning: { name: string; message: string } });
  const example = lines.find((l) => l.warning?.name === 'ExampleWarning');
  assert.equal(example?.level, 40, routed.stdout);
  assert.equal(example?.warning.message, 'something odd');
  const negative = lines.filter((l) => l.warning?.name === 'TimeoutNegativeWarning');
  assert.deepEqual(negative.map((l) => l.level), warnsNegative ? [20] : [], routed.stdout);
});
