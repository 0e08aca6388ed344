/**
 * Rebalance storm: while a backlog is consumed, two of three processes keep
 * joining and leaving the group (graceful stops and SIGKILLs). Afterwards
 * every id is processed, and no partition was processed by two processes at
 * once for longer than the session timeout (6 s) — measured from the
 * processing timestamps of the records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTopic, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { idStats, messageRecords, startAppProcess, tempFile, type AppProcess } from '../helpers/app.ts';
import type { RecordLine } from '../fixtures/recording-consumer.ts';

const BUCKET_MS = 250;

/** Longest run of consecutive 250 ms buckets in which one partition was processed by two or more processes. */
function longestOverlapMs(records: RecordLine[]): { partition: number; ms: number } {
  const buckets = new Map<string, Set<number>>();
  for (const r of records) {
    const k = `${r.p}:${Math.floor(r.at! / BUCKET_MS)}`;
    buckets.set(k, (buckets.get(k) ?? new Set()).add(r.pid));
  }
  let worst = { partition: -1, ms: 0 };
  for (const p of new Set(records.map((r) => r.p))) {
    const times = [...buckets.keys()].filter((k) => k.startsWith(`${p}:`) && buckets.get(k)!.size > 1).map((k) => Number(k.split(':')[1])).sort((a, b) => a - b);
    let run = 0;
    for (let i = 0; i < times.length; i++) {
      run = i > 0 && times[i] === times[i - 1]! + 1 ? run + 1 : 1;
      if (run * BUCKET_MS > worst.ms) worst = { partition: p, ms: run * BUCKET_MS };
    }
  }
  return worst;
}

test('processes joining and leaving repeatedly under load: nothing lost, no long double processing', { timeout: 240_000 }, async () => {
  const topic = unique('storm');
  const out = tempFile('records.jsonl');
  await createTopic(topic, 12);
  const produced = await produceIds(topic, 0, 10_000, { perSend: 100 });
  // Keep producing through the whole storm, so every visitor finds work whenever it joins: with a
  // fixed amount, a slow (loaded) run outlasted the producer and a late visitor found nothing to do.
  let producing = true;
  const producer = (async () => {
    for (let next = 10_000; producing && next < 500_000; next += 60) {
      produced.push(...(await produceIds(topic, next, 60, { perSend: 60 })));
      await sleep(100);
    }
  })();
  const env = { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: unique('storm-group'), PARTITA_TEST_OUT: out, PARTITA_TEST_DELAY_MS: '200', PARTITA_TEST_MAX_BYTES: '8192', PARTITA_TEST_CONCURRENCY: '1' };
  const steady = startAppProcess(env);
  const all: AppProcess[] = [steady];
  try {
    await waitFor(() => messageRecords(out).length > 1000, 'consuming', 60_000);
    for (let cycle = 0; cycle < 6; cycle++) {
      const visitor = startAppProcess(env);
      all.push(visitor);
      await waitFor(() => /joined consumer group/.test(visitor.output()), 'visitor joined', 60_000);
      // Leave only once it has taken partitions and processed (a loaded machine starts slowly).
      await waitFor(() => messageRecords(out).some((r) => r.pid === visitor.child.pid), 'visitor processing', 60_000).catch(async (err) => {
        for (const p of [steady, visitor]) p.child.kill('SIGUSR2');
        await sleep(500);
        const tail = (p: AppProcess) => p.output().trim().split('\n').slice(-12).map((l) => l.slice(0, 1500)).join('\n');
        throw new Error(`${err.message}\nvisitor (cycle ${cycle}):\n${tail(visitor)}\nsteady:\n${tail(steady)}`);
      });
      await sleep(1000 + Math.random() * 1500);
      visitor.child.kill(cycle % 2 === 0 ? 'SIGTERM' : 'SIGKILL');
      await visitor.exited;
    }
    producing = false;
    await producer;
    await waitFor(() => idStats(messageRecords(out)).distinct.size >= produced.length, 'every id after the storm', 150_000).catch(async (err) => {
      steady.child.kill('SIGUSR2');
      await sleep(500);
      const seen = idStats(messageRecords(out)).distinct;
      const status = steady.output().split('\n').filter((l) => l.includes('"msg":"status"')).at(-1);
      throw new Error(`${err.message}; ${produced.length - seen.size} missing; steady status: ${status}\nlast lines:\n${steady.output().split('\n').slice(-8).map((l) => l.slice(0, 300)).join('\n')}`);
    });
  } finally {
    producing = false;
    await producer.catch(() => {});
    for (const p of all) p.child.kill('SIGTERM');
  }
  assert.equal((await steady.exited).code, 0, steady.output().slice(-2000));
  const records = messageRecords(out);
  const { distinct, duplicates } = idStats(records);
  assert.deepEqual([...distinct].sort((a, b) => a - b), [...produced].sort((a, b) => a - b), 'nothing lost');
  const pids = new Set(records.map((r) => r.pid));
  assert.equal(pids.size, 7, 'the steady process and all six visitors processed');
  const overlap = longestOverlapMs(records);
  assert.ok(overlap.ms < 6000, `partition ${overlap.partition} was processed by two processes at once for ${overlap.ms} ms`);
  console.log(`# rebalance-storm: ${pids.size} processes, ${duplicates} duplicates over 6 join/leave cycles; longest double processing ${overlap.ms} ms (partition ${overlap.partition})`);
});
