/**
 * Two app processes in one consumer group split the partitions (Kafka's group
 * protocol is the distributed engine). When the second joins, the first
 * revokes the partitions it hands over (revoked() runs there); when the
 * second stops, its partitions move back and get fresh instances
 * (initialized() again). No id is lost across both moves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTopic, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { idStats, messageRecords, readRecords, startAppProcess, tempFile, type AppProcess } from '../helpers/app.ts';

const joined = (p: AppProcess, times = 1) => () => (p.output().match(/joined consumer group/g) ?? []).length >= times;

test('two processes split a group; stopping one moves its partitions to the other with no loss', { timeout: 180_000 }, async () => {
  const topic = unique('scaling');
  const group = unique('scaling-group');
  const out = tempFile('records.jsonl');
  const env = { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: group, PARTITA_TEST_OUT: out, PARTITA_TEST_DELAY_MS: '5', PARTITA_TEST_MAX_BYTES: '8192' };
  await createTopic(topic, 6);

  const a = startAppProcess(env);
  const b = { current: undefined as AppProcess | undefined };
  try {
    await waitFor(joined(a), 'A joined', 60_000);
    const produced = await produceIds(topic, 0, 3000);
    await waitFor(() => idStats(messageRecords(out)).distinct.size >= 3000, 'A processed the first 3000', 60_000);

    b.current = startAppProcess(env);
    await waitFor(joined(b.current), 'B joined', 60_000);
    await waitFor(joined(a, 2), 'A rejoined after B arrived', 60_000);
    produced.push(...(await produceIds(topic, 3000, 3000)));
    await waitFor(() => idStats(messageRecords(out)).distinct.size >= 6000, 'the next 3000 processed by A and B', 60_000);

    const pidA = a.child.pid!;
    const pidB = b.current.child.pid!;
    const second = messageRecords(out).filter((r) => r.id! >= 3000);
    const partsA = new Set(second.filter((r) => r.pid === pidA).map((r) => r.p));
    const partsB = new Set(second.filter((r) => r.pid === pidB).map((r) => r.p));
    assert.ok(partsA.size > 0 && partsB.size > 0, `both processes consumed (A: ${[...partsA]}, B: ${[...partsB]})`);
    assert.equal([...partsA].filter((p) => partsB.has(p)).length, 0, 'no partition consumed by both processes at once');
    assert.equal(partsA.size + partsB.size, 6, 'together they cover every partition');
    const revokedOnA = readRecords(out).filter((r) => r.e === 'revoked' && r.pid === pidA).map((r) => r.p);
    assert.deepEqual(new Set(revokedOnA), partsB, 'A ran revoked() for exactly the partitions B took');

    b.current.child.kill('SIGTERM');
    assert.equal((await b.current.exited).code, 0, 'B stops gracefully');
    await waitFor(joined(a, 3), 'A rejoined after B left', 60_000);
    produced.push(...(await produceIds(topic, 6000, 3000)));
    await waitFor(() => idStats(messageRecords(out)).distinct.size >= 9000, 'the last 3000 processed by A', 60_000);

    const last = messageRecords(out).filter((r) => r.id! >= 6000);
    assert.ok(last.every((r) => r.pid === pidA), 'after B left, A consumes everything');
    const initializedOnA = readRecords(out).filter((r) => r.e === 'initialized' && r.pid === pidA).map((r) => r.p);
    for (const p of partsB) assert.ok(initializedOnA.filter((x) => x === p).length >= 2, `partition ${p} got a fresh instance on A (initialized again)`);
    const shutdownOnB = readRecords(out).filter((r) => r.e === 'shutdown' && r.pid === pidB).map((r) => r.p);
    assert.deepEqual(new Set(shutdownOnB), partsB, 'B ran shutdown() for its partitions');

    const { distinct, duplicates } = idStats(messageRecords(out));
    assert.deepEqual([...distinct].sort((x, y) => x - y), produced, 'no id lost');
    console.log(`# group-scaling: ${duplicates} duplicates across two rebalances`);
  } finally {
    a.child.kill('SIGTERM');
    b.current?.child.kill('SIGTERM');
    assert.equal((await a.exited).code, 0, `A stops gracefully:\n${a.output().slice(-1500)}`);
  }
});
