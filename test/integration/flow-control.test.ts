/**
 * Flow control from inside consume(), against the real broker: this.pause(ms)
 * holds one partition while the others go on; pause() until a timer's
 * resume(); seek() backwards replays, forwards skips (and commits the
 * skipped); this.assigned turns false when a rebalance takes the partition
 * (markAsConsumed then returns false), this.stopping when the process stops;
 * eofed() runs at the end of the log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitsVsLogEnd, createTopic, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { ROOT, startAppProcess, tempFile, type AppProcess } from '../helpers/app.ts';

const BOOT = join(ROOT, 'test/fixtures/flow-control.config.ts');

interface Line {
  e: string;
  p: number;
  o?: number;
  id?: number;
  t: number;
  pid: number;
  to?: number;
  after?: number;
  assigned?: boolean;
  marked?: boolean;
}

const lines = (out: string): Line[] => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line) : []);
const messages = (out: string, p?: number) => lines(out).filter((l) => l.e === 'm' && (p === undefined || l.p === p));

async function run(mode: string, partitions: number, count: number, extra: Record<string, string> = {}) {
  const topic = unique(`fc-${mode}`);
  const group = unique(`fc-${mode}-group`);
  const out = tempFile('flow.jsonl');
  await createTopic(topic, partitions);
  await produceIds(topic, 0, count);
  const env = { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: group, PARTITA_TEST_OUT: out, PARTITA_FC_MODE: mode, ...extra };
  const app = startAppProcess(env, ['server', '--boot', BOOT]);
  return { topic, group, out, env, app };
}

async function stop(app: AppProcess): Promise<void> {
  app.child.kill('SIGTERM');
  const { code } = await app.exited;
  assert.equal(code, 0, app.output().slice(-3000));
}

async function allCommitted(group: string, topic: string): Promise<void> {
  await waitFor(async () => (await commitsVsLogEnd(group, topic)).every((o) => o.committed === o.logEnd), 'every partition committed up to its log end', 30_000, 250);
}

test('pause(ms): the partition gets no batch for that long, the other partition goes on, nothing is lost', { timeout: 120_000 }, async () => {
  const { topic, group, out, app } = await run('pause', 2, 300, { PARTITA_FC_DELAY_MS: '100' });
  try {
    await waitFor(() => new Set(messages(out).map((l) => l.id)).size === 300, 'every id', 60_000, 200);
    const paused = lines(out).find((l) => l.e === 'paused')!;
    const p0After = messages(out, 0).filter((l) => l.t > paused.t);
    assert.ok(p0After.length > 0, 'partition 0 went on after its pause');
    const gap = p0After[0]!.t - paused.t;
    assert.ok(gap >= 1400, `partition 0's next batch came ${gap} ms after pause(1500)`);
    const p1During = messages(out, 1).filter((l) => l.t > paused.t && l.t < p0After[0]!.t);
    assert.ok(p1During.length > 0, 'partition 1 kept being processed during the pause');
    await allCommitted(group, topic);
  } finally {
    await stop(app);
  }
});

test('pause() without ms holds the partition until a timer calls resume() between batches', { timeout: 120_000 }, async () => {
  const { topic, group, out, app } = await run('resume', 1, 100);
  try {
    await waitFor(() => messages(out).length >= 100, 'every message', 60_000, 200);
    const resumed = lines(out).find((l) => l.e === 'resume-called')!;
    assert.ok(resumed, 'the timer called resume()');
    const after = messages(out).filter((l) => l.t >= resumed.t);
    const before = messages(out).filter((l) => l.t < resumed.t);
    assert.equal(before.length, 10, 'only the first batch (maxMessages 10) ran before resume()');
    assert.equal(after.length, 90);
    await allCommitted(group, topic);
  } finally {
    await stop(app);
  }
});

test('resume() wakes the fetch loop: new messages of a paused partition come at once, not after maxWaitTimeMs', { timeout: 120_000 }, async () => {
  // Every partition paused: kafkajs's fetch loop would sleep maxWaitTimeMs (5 s here) before looking again.
  const { topic, group, out, app } = await run('resume', 1, 100, { PARTITA_FC_MAX_WAIT_MS: '5000' });
  try {
    await waitFor(() => lines(out).some((l) => l.e === 'paused'), 'the pause', 60_000, 50);
    // New messages while paused: only a fetch after the resume can bring them.
    await produceIds(topic, 100, 50);
    await waitFor(() => new Set(messages(out).map((l) => l.id)).size === 150, 'every id', 60_000, 100);
    const resumed = lines(out).find((l) => l.e === 'resume-called')!;
    const firstNew = messages(out).find((l) => l.id! >= 100)!;
    const gap = firstNew.t - resumed.t;
    assert.ok(gap >= 0 && gap < 2500, `the first new message came ${gap} ms after resume() (maxWaitTimeMs 5000)`);
    await allCommitted(group, topic);
  } finally {
    await stop(app);
  }
});

test('seek() backwards replays from there; what was committed stays committed; every offset ends committed', { timeout: 120_000 }, async () => {
  const { topic, group, out, app } = await run('seek-back', 1, 60);
  try {
    const sought = () => lines(out).find((l) => l.e === 'sought');
    await waitFor(() => sought() !== undefined && messages(out).filter((l) => l.o === 59).length >= 1 && messages(out).filter((l) => l.o === 0).length >= 2, 'the replay reached the end', 60_000, 200);
    const { after } = sought()!;
    const counts = new Map<number, number>();
    for (const l of messages(out)) counts.set(l.o!, (counts.get(l.o!) ?? 0) + 1);
    for (let o = 0; o <= after!; o++) assert.equal(counts.get(o), 2, `offset ${o} (up to the seek) ran twice`);
    for (let o = after! + 1; o < 60; o++) assert.equal(counts.get(o), 1, `offset ${o} (after the seek) ran once`);
    await allCommitted(group, topic);
  } finally {
    await stop(app);
  }
});

test('seek() forwards skips; the skipped offsets count as processed and are committed', { timeout: 120_000 }, async () => {
  const { topic, group, out, app } = await run('seek-forward', 1, 200, { PARTITA_FC_MAX: '5' });
  try {
    await waitFor(() => messages(out).some((l) => l.o === 199), 'the last offset', 60_000, 200);
    const offsets = messages(out).map((l) => l.o!);
    assert.deepEqual(offsets, [0, 1, 2, 3, 4, ...Array.from({ length: 100 }, (_, i) => 100 + i)], 'offsets 5–99 were skipped');
    await allCommitted(group, topic);
  } finally {
    await stop(app);
  }
});

test('eofed() runs once each time the partition reaches the end of its log', { timeout: 120_000 }, async () => {
  const { topic, group, out, app } = await run('eofed', 1, 50);
  try {
    await waitFor(() => lines(out).some((l) => l.e === 'eofed'), 'eofed', 60_000, 200);
    const first = lines(out).filter((l) => l.e === 'eofed');
    assert.equal(first.length, 1);
    assert.equal(messages(out).length, 50, 'after every message of the log');
    assert.ok(first[0]!.t >= Math.max(...messages(out).map((l) => l.t)));
    await produceIds(topic, 50, 20);
    await waitFor(() => lines(out).filter((l) => l.e === 'eofed').length === 2 && messages(out).length === 70, 'eofed again after the new records', 60_000, 200);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(lines(out).filter((l) => l.e === 'eofed').length, 2, 'not again while nothing new arrives');
    await allCommitted(group, topic);
  } finally {
    await stop(app);
  }
});

test('this.assigned turns false in a running consume() when a rebalance gives its partition to another member; markAsConsumed then returns false', { timeout: 180_000 }, async () => {
  const { out, env, app } = await run('assigned', 2, 40);
  let second: AppProcess | undefined;
  try {
    await waitFor(() => lines(out).filter((l) => l.e === 'long-job').length === 2, 'both partitions run a long job', 60_000, 200);
    second = startAppProcess({ ...env, PARTITA_FC_MODE: 'none' }, ['server', '--boot', BOOT]);
    await waitFor(() => lines(out).some((l) => l.e === 'long-job-end' && l.assigned === false), 'a long job saw its partition revoked', 90_000, 200);
    const ended = lines(out).find((l) => l.e === 'long-job-end' && l.assigned === false)!;
    assert.equal(ended.pid, app.child.pid, 'in the first process');
    assert.equal(ended.marked, false, 'markAsConsumed returns false once the partition is not assigned');
    assert.ok((ended as unknown as { ms: number }).ms < 59_000, 'it stopped early, not at its own limit (60 s)');
  } finally {
    await stop(app);
    if (second) await stop(second);
  }
});

test('this.stopping turns true in a running consume() when the process stops gracefully: a long job ends early, exit 0', { timeout: 120_000 }, async () => {
  const { out, app } = await run('stopping', 1, 20);
  await waitFor(() => lines(out).some((l) => l.e === 'long-job'), 'the long job runs', 60_000, 100);
  const signalled = Date.now();
  await stop(app);
  const ended = lines(out).find((l) => l.e === 'long-job-end') as (Line & { stopping: boolean; ms: number }) | undefined;
  assert.ok(ended, 'the long job ended before the process exited');
  assert.equal(ended.stopping, true);
  assert.ok(ended.t - signalled < 10_000, `it ended ${ended.t - signalled} ms after SIGTERM, not at its own limit (15 s)`);
});
