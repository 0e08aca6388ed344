/**
 * A fleet starting together: three `partita server` processes (2 threads
 * each) join one group on a pre-produced backlog of small messages with a
 * CPU-bound consumer (~50 µs per message), so the group rebalances while every
 * thread is busy. Expected: every id processed; no batch of a partition
 * starts in a process after that process learned (at a join) that the
 * partition went elsewhere; duplicates stay within the documented bound — at
 * most one `maxMessages` batch per partition move; after SIGTERM every process
 * exits 0 and Kafka's committed offsets (read back from Kafka) equal the log
 * end offsets on every partition.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commitsVsLogEnd, createTopic, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { idStats, messageRecords, startAppProcess, tempFile, type AppProcess } from '../helpers/app.ts';
import type { RecordLine } from '../fixtures/recording-consumer.ts';

interface Join {
  pid: number;
  time: number;
  partitions: Set<number>;
}

/** The 'joined consumer group' log lines of a process: when it learned its assignment. */
function joinsOf(p: AppProcess, topic: string): Join[] {
  const out: Join[] = [];
  for (const line of p.output().split('\n')) {
    if (!line.includes('joined consumer group')) continue;
    const l = JSON.parse(line) as { time: number; pid: number; assignment: Record<string, number[]> };
    out.push({ pid: l.pid, time: l.time, partitions: new Set(l.assignment[topic] ?? []) });
  }
  return out;
}

/** Batches (pid, partition, start) that started after their process's latest join had taken the partition away. */
function lateStarts(records: RecordLine[], joins: Join[]): string[] {
  const batches = new Map<string, RecordLine>();
  for (const r of records) batches.set(`${r.pid}/${r.i}/${r.b}`, r);
  const late: string[] = [];
  for (const b of batches.values()) {
    const before = joins.filter((j) => j.pid === b.pid && j.time <= b.bs!).at(-1);
    if (before && !before.partitions.has(b.p)) late.push(`pid ${b.pid} partition ${b.p} batch started ${b.bs! - before.time} ms after a join without it`);
  }
  return late;
}

/** How often a partition changed hands (by the order in which its offsets were processed). */
function moves(records: RecordLine[]): number {
  let n = 0;
  const byPartition = new Map<number, RecordLine[]>();
  for (const r of records) byPartition.set(r.p, [...(byPartition.get(r.p) ?? []), r]);
  for (const rs of byPartition.values()) {
    rs.sort((a, b) => a.bs! - b.bs! || a.o! - b.o!);
    for (let i = 1; i < rs.length; i++) if (rs[i]!.pid !== rs[i - 1]!.pid) n += 1;
  }
  return n;
}

test('three processes start together on a backlog: no batch starts after its revoke, duplicates within one maxMessages batch per move, commits in Kafka == log end', { timeout: 300_000 }, async () => {
  const topic = unique('fleet');
  const group = unique('fleet-group');
  const out = tempFile('records.jsonl');
  const maxMessages = 500;
  await createTopic(topic, 12);
  const produced = await produceIds(topic, 0, 60_000, { perSend: 2000 });
  const env = { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: group, PARTITA_TEST_OUT: out, PARTITA_TEST_BUSY_US: '50', PARTITA_TEST_MAX_MESSAGES: String(maxMessages), PARTITA_TEST_COMMIT_INTERVAL_MS: '500' };
  const fleet = [startAppProcess(env), startAppProcess(env), startAppProcess(env)];
  try {
    await waitFor(() => idStats(messageRecords(out)).distinct.size >= produced.length, 'every id processed', 180_000, 250).catch((err) => {
      throw new Error(`${err.message}: ${produced.length - idStats(messageRecords(out)).distinct.size} missing`);
    });
  } finally {
    for (const p of fleet) p.child.kill('SIGTERM');
  }
  const exits = await Promise.all(fleet.map((p) => p.exited));
  exits.forEach((e, i) => assert.equal(e.code, 0, `process ${i} stops gracefully:\n${fleet[i]!.output().slice(-2000)}`));

  const records = messageRecords(out);
  const { distinct, duplicates } = idStats(records);
  assert.deepEqual([...distinct].sort((a, b) => a - b), produced, 'no id lost');
  const joins = fleet.flatMap((p) => joinsOf(p, topic));
  assert.deepEqual(lateStarts(records, joins), [], 'no batch started after its process learned of the revoke');
  const moved = moves(records);
  console.log(`# fleet-rebalance: ${duplicates} duplicates (${((100 * duplicates) / produced.length).toFixed(2)} %), ${moved} partition moves, ${joins.length} joins`);
  assert.ok(duplicates <= moved * maxMessages, `duplicates ${duplicates} within one batch of ${maxMessages} per move (${moved} moves)`);
  for (const c of await commitsVsLogEnd(group, topic)) assert.equal(c.committed, c.logEnd, `partition ${c.partition}: committed offset in Kafka == log end`);
});
