/**
 * Signals while `partita server` is still starting (its HTTP endpoint is up,
 * its broker has not answered yet) are handled, never fatal:
 * - SIGUSR2 logs a status line (state "starting", what it waits for) and the
 *   process keeps running;
 * - SIGTERM/SIGINT abort the start: logged at once, then the start is let
 *   settle (at most shutdownTimeoutMs): a start that fails has closed what it
 *   opened, one that succeeds is stopped gracefully; then "start aborted by
 *   <signal>" and exit 0, as for any clean stop;
 * - a start that does not settle within shutdownTimeoutMs: logged, exit 1;
 * - a second signal while aborting forces exit 130, naming what it waited for;
 * - signals before the CLI has even loaded are held and then handled the same way.
 * The broker here is a TCP server that accepts connections and holds them
 * unanswered until the test lets them through to the real broker or drops them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { brokers, createTopic, unique, waitFor } from '../helpers/kafka.ts';
import { httpUrlOf, startAppProcess, type AppProcess } from '../helpers/app.ts';
import { SAME_PRESS_MS } from '../../src/cli/signal-presses.ts';

/** Accepts Kafka connections and holds them, unread, until release() pipes them to a real broker or close() drops them. */
class HoldingBroker {
  connections = 0;
  readonly #held = new Set<Socket>();
  #target: string | undefined;
  readonly #server: NetServer;

  private constructor() {
    this.#server = createServer((socket) => {
      this.connections += 1;
      socket.on('error', () => {});
      if (this.#target) this.#pipe(socket, this.#target);
      else this.#held.add(socket);
    });
  }

  static start(): Promise<HoldingBroker> {
    const b = new HoldingBroker();
    return new Promise((resolve) => b.#server.listen(0, '127.0.0.1', () => resolve(b)));
  }

  get address(): string {
    return `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** From now on the broker "answers": held and new connections are piped to `target`. */
  release(target: string): void {
    this.#target = target;
    for (const s of this.#held) this.#pipe(s, target);
    this.#held.clear();
  }

  #pipe(client: Socket, target: string): void {
    const [host, port] = target.split(':');
    const upstream = connect(Number(port), host);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  }

  /** Drops every held connection and stops listening: the client's next attempts are refused. */
  close(): Promise<void> {
    for (const s of this.#held) s.destroy();
    this.#held.clear();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

interface LogLine {
  level: number;
  msg: string;
  status?: { state?: string; waitingFor?: string; http?: string | null };
}

function logLines(p: AppProcess): LogLine[] {
  return p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/** Starts the recording app against `broker` and waits until it is up to the point of waiting for Kafka. */
async function startWaiting(broker: HoldingBroker, env: Record<string, string> = {}): Promise<AppProcess> {
  const p = startAppProcess({ KAFKA_BROKERS: broker.address, PARTITA_TEST_TOPIC: unique('startup'), PARTITA_TEST_GROUP: unique('startup-group'), ...env });
  await waitFor(() => httpUrlOf(p) !== undefined || p.child.exitCode !== null, 'HTTP endpoint up (start-up log line)', 60_000);
  assert.equal(p.child.exitCode, null, `still running once HTTP is up:\n${p.output()}`);
  await waitFor(() => broker.connections > 0, 'the server connecting to the (held) broker', 60_000);
  return p;
}

/** Waits for the exit, failing with the output if it takes longer than `ms`. */
async function exitWithin(p: AppProcess, ms: number): Promise<number | null> {
  const res = await Promise.race([p.exited, sleep(ms).then(() => undefined)]);
  if (!res) {
    p.child.kill('SIGKILL');
    assert.fail(`no exit within ${ms} ms:\n${p.output().slice(-3000)}`);
  }
  assert.equal(res.signal, null, `exited by itself, not killed by ${res.signal}:\n${p.output().slice(-3000)}`);
  return res.code;
}

test('SIGUSR2 while starting logs the status and keeps running; SIGTERM aborts the start: exit 0, logged', { timeout: 120_000 }, async () => {
  const broker = await HoldingBroker.start();
  const p = await startWaiting(broker);
  try {
    const url = httpUrlOf(p)!;
    const ready = await fetch(`${url}/ready`);
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as { state: string }).state, 'starting');

    p.child.kill('SIGUSR2');
    await waitFor(() => logLines(p).some((l) => l.msg === 'status'), 'a status log line', 10_000);
    await sleep(500);
    assert.equal(p.child.exitCode, null, `SIGUSR2 did not stop the process:\n${p.output()}`);
    assert.equal(p.child.signalCode, null);
    const status = logLines(p).find((l) => l.msg === 'status')!.status!;
    assert.equal(status.state, 'starting');
    assert.match(status.waitingFor ?? '', new RegExp(`Kafka at ${broker.address}`));
    assert.equal(status.http, url);

    p.child.kill('SIGTERM');
    const abort = new RegExp(`SIGTERM received while starting \\(waiting for worker threads and Kafka at ${broker.address} \\(consumer groups: [^)]+\\)\\): aborting the start`);
    await waitFor(() => abort.test(p.output()), 'the abort logged at once', 10_000).catch((err) => assert.fail(`${err.message}\n${p.output()}`));
    // Now the broker goes away: the pending start fails (after kafkajs's retries) and closes what it opened.
    await broker.close();
    const code = await exitWithin(p, 60_000);
    assert.equal(code, 0, p.output().slice(-3000));
    const out = p.output();
    assert.match(out, /the aborted start failed meanwhile and closed what it had opened/);
    assert.match(out, /start aborted by SIGTERM: everything it opened is closed/);
    assert.doesNotMatch(out, /partita server started/);
    assert.doesNotMatch(out, /error \[/, 'no error reported for a requested stop');
  } finally {
    p.child.kill('SIGKILL');
    await broker.close().catch(() => {});
  }
});

test('signals in the first moment, before the CLI has loaded: held, then handled like any during the start (status logged, start aborted, exit 0)', { timeout: 120_000 }, async () => {
  const broker = await HoldingBroker.start();
  const p = startAppProcess({ KAFKA_BROKERS: broker.address, PARTITA_TEST_TOPIC: unique('early'), PARTITA_TEST_GROUP: unique('early-group') });
  try {
    await new Promise((r) => p.child.once('spawn', r));
    // Node is up, the CLI's modules (and, here, tsx) are still loading: ~1 s from the sources.
    await sleep(300);
    const before = p.output();
    p.child.kill('SIGUSR2');
    p.child.kill('SIGTERM');
    await waitFor(() => /SIGTERM received while starting/.test(p.output()) || p.child.exitCode !== null || p.child.signalCode !== null, 'the early SIGTERM logged', 60_000);
    assert.equal(p.child.signalCode, null, `killed by the early ${p.child.signalCode}:\n${p.output()}`);
    await broker.close();
    const code = await exitWithin(p, 60_000);
    assert.equal(code, 0, p.output().slice(-3000));
    // Two signals sent together may arrive in either order: the status is of the start or of its abort.
    assert.ok(logLines(p).some((l) => l.msg === 'status' && (l.status?.state === 'starting' || l.status?.state === 'aborting')), `the early SIGUSR2 logged a status:\n${p.output()}`);
    assert.match(p.output(), /start aborted by SIGTERM/);
    console.log(`# output when the signals were sent: ${before.length} bytes`);
  } finally {
    p.child.kill('SIGKILL');
    await broker.close().catch(() => {});
  }
});

test('SIGINT while starting, then the broker answers: the started server is stopped gracefully, exit 0', { timeout: 120_000 }, async () => {
  const topic = unique('startup-late');
  await createTopic(topic, 2);
  const broker = await HoldingBroker.start();
  const p = await startWaiting(broker, { PARTITA_TEST_TOPIC: topic });
  try {
    p.child.kill('SIGINT');
    await waitFor(() => /SIGINT received while starting/.test(p.output()), 'the abort logged', 10_000);
    broker.release(brokers()[0]!);
    const code = await exitWithin(p, 60_000);
    assert.equal(code, 0, p.output().slice(-3000));
    const log = p.output();
    assert.match(log, /the aborted start completed meanwhile: stopping the server gracefully/);
    assert.match(log, /partita server stopped/);
    assert.match(log, /start aborted by SIGINT: everything it opened is closed/);
    assert.ok(log.indexOf('partita server started') < log.indexOf('partita server stopped'));
  } finally {
    p.child.kill('SIGKILL');
    await broker.close();
  }
});

test('a start that does not settle within shutdownTimeoutMs after SIGTERM: logged, exit 1', { timeout: 120_000 }, async () => {
  const broker = await HoldingBroker.start();
  const p = await startWaiting(broker, { PARTITA_TEST_SHUTDOWN_MS: '2000' });
  try {
    const signalled = Date.now();
    p.child.kill('SIGTERM');
    const code = await exitWithin(p, 30_000);
    assert.equal(code, 1, p.output().slice(-3000));
    assert.ok(Date.now() - signalled >= 1900, 'waited for the budget');
    assert.match(p.output(), /start aborted by SIGTERM, but it did not settle within shutdownTimeoutMs \(2000 ms; still waiting for worker threads and Kafka at 127\.0\.0\.1:\d+/);
  } finally {
    p.child.kill('SIGKILL');
    await broker.close();
  }
});

test('a second signal while aborting the start forces exit 130 and says what it waited for', { timeout: 120_000 }, async () => {
  const broker = await HoldingBroker.start();
  const p = await startWaiting(broker);
  try {
    p.child.kill('SIGTERM');
    await waitFor(() => /aborting the start/.test(p.output()), 'the first signal logged', 10_000);
    await sleep(SAME_PRESS_MS + 100); // a deliberate second press, not a relayed copy of the first
    p.child.kill('SIGINT');
    const code = await exitWithin(p, 10_000);
    assert.equal(code, 130, p.output().slice(-3000));
    assert.match(p.output(), /forced exit on second SIGINT; still running: start \(waiting for worker threads and Kafka at 127\.0\.0\.1:\d+/);
  } finally {
    p.child.kill('SIGKILL');
    await broker.close();
  }
});
