/**
 * One Ctrl-C in a real terminal stops gracefully, also with every core busy.
 * `script` (util-linux) runs the command on a pseudo-terminal; writing ^C to
 * it is what a keyboard does: the terminal sends SIGINT to the whole
 * foreground process group (npm, and node under it), and npm relays it to its
 * child once more. Only a deliberate second press, later, forces the exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createTopic, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { RECORDING_BOOT, ROOT, tempFile } from '../helpers/app.ts';
import { clusterStatus, stopCluster } from '../../scripts/kafka/broker.ts';

/**
 * Runs `command` on a pseudo-terminal; returns its output so far, a Ctrl-C key and its exit code.
 * `exec`: script runs the command through `$SHELL -c`, and dash (Debian's /bin/sh, used when
 * SHELL is unset, as in CI) does not exec it: the shell, in the same foreground process group,
 * dies of the SIGINT itself and script reports 130 whatever the command did.
 */
function inTerminal(command: string, env: Record<string, string>) {
  const child = spawn('script', ['-qefc', `exec ${command}`, '/dev/null'], { cwd: ROOT, env: { ...process.env, NODE_TEST_CONTEXT: undefined, ...env }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, output: () => out, ctrlC: () => child.stdin!.write('\x03'), exited };
}

/** Both cores busy for the length of a test, as on the loaded machine where one press used to force. */
function loadCpus(): ChildProcess[] {
  return [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

/** `codes`: the acceptable exit codes of the command (npm exits 130 itself after an interrupted script, whatever the script did). */
async function oneCtrlC(command: string, env: Record<string, string>, running: RegExp, stopped: RegExp, codes = [0], runningWithinMs = 90_000): Promise<void> {
  const load = loadCpus();
  const t = inTerminal(command, env);
  try {
    await waitFor(() => running.test(t.output()), `${command} running`, runningWithinMs, 200);
    t.ctrlC();
    const timer = setTimeout(() => process.kill(-t.child.pid!, 'SIGKILL'), 60_000);
    const code = await t.exited;
    clearTimeout(timer);
    assert.doesNotMatch(t.output(), /forced exit/, `one Ctrl-C must not force:\n${t.output().slice(-3000)}`);
    assert.match(t.output(), stopped, t.output().slice(-3000));
    assert.ok(codes.includes(code!), `${t.output().slice(-3000)}\nexit ${code}, expected ${codes.join(' or ')}`);
  } finally {
    for (const l of load) l.kill('SIGKILL');
    try {
      process.kill(-t.child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

test('partita server on a terminal, both cores busy: one Ctrl-C stops it gracefully (exit 0)', { timeout: 180_000 }, async () => {
  const topic = unique('ctrl-c');
  await createTopic(topic, 2);
  await produceIds(topic, 0, 200);
  const env = { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: unique('ctrl-c-group'), PARTITA_TEST_OUT: tempFile('records.jsonl'), PARTITA_HTTP_PORT: '0' };
  await oneCtrlC(`node bin/partita.js server --boot ${RECORDING_BOOT}`, env, /joined consumer group/, /partita server stopped/);
});

test('npm run demo on a terminal, both cores busy: one Ctrl-C (npm relays it once more) stops it cleanly', { timeout: 180_000 }, async () => {
  await oneCtrlC('npm run demo', {}, /msg\/s|processed/, /app stopped cleanly/, [0, 130]);
});

test('npm run bench on a terminal, both cores busy: one Ctrl-C ends the running contender and the bench, nothing left running', { timeout: 240_000 }, async () => {
  const contenders = () => spawnSync('pgrep', ['-f', 'bench/lib/contender.ts'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length;
  assert.equal(contenders(), 0, 'no contender running before');
  // Interrupted mid-run: npm exits 130 after an interrupted script; the bench says it stopped.
  await oneCtrlC('npm run bench -- --quick --no-java --scenario passthrough', {}, /passthrough 9 B partita/, /bench interrupted: nothing left running/, [130]);
  await waitFor(() => contenders() === 0, 'every contender process ended', 10_000, 200);
});

test('npm test on a terminal, both cores busy: one Ctrl-C ends the running files and stops the broker it started', { timeout: 480_000 }, async () => {
  const port = 19990; // a broker of its own, which the inner npm test starts (no KAFKA_BROKERS)
  const env = { KAFKA_BROKERS: '', PARTITA_KAFKA_PORT: String(port), TEST_NODE_VERSIONS: '' };
  try {
    await oneCtrlC('npm test -- test/integration/raw-fetch.test.ts', env, /\[kafka\] started broker/, /\[kafka\] stopped the broker started for the tests/, [130], 300_000); // type-checking first takes a while on busy cores
    assert.deepEqual(clusterStatus({ port }).running, [], 'the broker it started is stopped');
  } finally {
    await stopCluster({ port });
  }
});
