/**
 * Commit-after-processing: an app process SIGKILLed mid-stream and started
 * again processes every produced id at least once, and the only ids it
 * processes twice are at or after the offsets that were committed when it
 * died (work that was in flight or not yet committed) — nothing that was
 * committed is ever re-delivered, nothing is lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTopic, kafka, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { idStats, messageRecords, startAppProcess, tempFile } from '../helpers/app.ts';

test('SIGKILL mid-stream, restart: every id processed, duplicates only past the committed offsets', { timeout: 180_000 }, async () => {
  const topic = unique('crash');
  const group = unique('crash-group');
  const out = tempFile('records.jsonl');
  const env = {
    PARTITA_TEST_TOPIC: topic,
    PARTITA_TEST_GROUP: group,
    PARTITA_TEST_OUT: out,
    PARTITA_TEST_DELAY_MS: '20',
    // Small batches, so the kill lands between many of them.
    PARTITA_TEST_MAX_BYTES: '4096',
  };
  await createTopic(topic, 6);
  const produced = await produceIds(topic, 0, 20_000);

  const first = startAppProcess(env);
  await waitFor(() => messageRecords(out).length >= 5000, '5000 processed before the kill', 90_000);
  first.child.kill('SIGKILL');
  const died = await first.exited;
  assert.equal(died.signal, 'SIGKILL');

  const admin = kafka().admin();
  await admin.connect();
  const [atKill] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  await admin.disconnect();
  const committedAtKill = new Map(atKill!.partitions.map((p) => [p.partition, Number(p.offset)]));
  const seenBeforeRestart = messageRecords(out).length;
  assert.ok(seenBeforeRestart < produced.length, 'the kill happened mid-stream');

  const second = startAppProcess(env);
  try {
    await waitFor(() => idStats(messageRecords(out)).distinct.size >= produced.length, 'every id after restart', 120_000);
  } finally {
    second.child.kill('SIGTERM');
  }
  assert.equal((await second.exited).code, 0, `restarted app exits cleanly:\n${second.output().slice(-2000)}`);

  const records = messageRecords(out);
  const { distinct, duplicates } = idStats(records);
  assert.deepEqual([...distinct].sort((a, b) => a - b), produced, 'processed ⊇ produced');
  const seen = new Set<number>();
  for (const r of records) {
    if (seen.has(r.id!)) {
      const committed = committedAtKill.get(r.p) ?? -1;
      assert.ok(r.o! >= committed, `duplicate id ${r.id} at ${r.p}@${r.o} is past the committed offset ${committed}`);
    }
    seen.add(r.id!);
  }
  console.log(`# crash-recovery: ${seenBeforeRestart} processed before SIGKILL, ${duplicates} duplicates after restart (all past the commit point)`);
});
