/**
 * Graceful shutdown commits what was processed: SIGTERM → shutdown() on every
 * instance, final commit, exit 0. A restart of the group re-delivers nothing
 * that had been processed, and goes on with new messages only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTopic, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { idStats, messageRecords, readRecords, startAppProcess, tempFile } from '../helpers/app.ts';
import { SAME_PRESS_MS } from '../../src/cli/signal-presses.ts';

test('SIGTERM commits processed work; a restart re-delivers none of it', { timeout: 120_000 }, async () => {
  const topic = unique('graceful');
  const group = unique('graceful-group');
  const out = tempFile('records.jsonl');
  // A long commit interval: only the shutdown commit can explain a clean restart.
  const env = { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: group, PARTITA_TEST_OUT: out, PARTITA_TEST_COMMIT_INTERVAL_MS: '600000' };
  await createTopic(topic, 4);
  const produced = await produceIds(topic, 0, 2000);

  const first = startAppProcess(env);
  await waitFor(() => messageRecords(out).length >= 2000, 'first run processes all', 60_000);
  first.child.kill('SIGTERM');
  const exit = await first.exited;
  assert.equal(exit.code, 0, `exit code 0 after SIGTERM:\n${first.output().slice(-1500)}`);
  assert.match(first.output(), /partita server stopped/);
  assert.equal(readRecords(out).filter((r) => r.e === 'shutdown').length, 4, 'shutdown() ran for each partition');

  const second = startAppProcess(env);
  try {
    await waitFor(() => /joined consumer group/.test(second.output()), 'restart joined', 60_000);
    await sleep(3000);
    assert.equal(messageRecords(out).length, 2000, 'nothing re-delivered after the restart');
    produced.push(...(await produceIds(topic, 2000, 500)));
    await waitFor(() => messageRecords(out).length >= 2500, 'new messages processed', 60_000);
  } finally {
    second.child.kill('SIGTERM');
  }
  assert.equal((await second.exited).code, 0);
  const { distinct, duplicates } = idStats(messageRecords(out));
  assert.equal(duplicates, 0, 'no duplicates at all');
  assert.deepEqual([...distinct].sort((a, b) => a - b), produced);
});

test('a second signal forces exit 130 and says what was still running (a copy within 500 ms is the same press); a stuck batch hits shutdownTimeoutMs (exit 1)', { timeout: 120_000 }, async () => {
  const topic = unique('stuck');
  await createTopic(topic, 1);
  await produceIds(topic, 0, 10);
  const env = { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_OUT: tempFile('records.jsonl'), PARTITA_TEST_DELAY_MS: '60000', PARTITA_TEST_SHUTDOWN_MS: '3000' };

  const forced = startAppProcess({ ...env, PARTITA_TEST_GROUP: unique('stuck-a') });
  await waitFor(() => /joined consumer group/.test(forced.output()), 'joined', 60_000);
  await sleep(1000); // the batch is now sleeping inside consume()
  forced.child.kill('SIGTERM');
  await waitFor(() => /shutting down gracefully/.test(forced.output()), 'first signal logged', 10_000);
  // A copy right after (as npm relays one Ctrl-C) is the same press: no forced exit.
  forced.child.kill('SIGINT');
  await sleep(SAME_PRESS_MS + 200);
  assert.equal(forced.child.exitCode, null, 'a relayed copy of the signal does not force the exit');
  assert.doesNotMatch(forced.output(), /forced exit/);
  forced.child.kill('SIGTERM');
  const f = await forced.exited;
  assert.equal(f.code, 130);
  assert.match(forced.output(), new RegExp(`still running: [^"]*${topic}/0`));

  const timedOut = startAppProcess({ ...env, PARTITA_TEST_GROUP: unique('stuck-b') });
  await waitFor(() => /joined consumer group/.test(timedOut.output()), 'joined', 60_000);
  await sleep(1000);
  timedOut.child.kill('SIGTERM');
  const t = await timedOut.exited;
  assert.equal(t.code, 1);
  assert.match(timedOut.output(), new RegExp(`error \\[SHUTDOWN_TIMEOUT\\]: Shutdown did not finish within 3000 ms; still running: [^\\n]*${topic}/0`));
});
