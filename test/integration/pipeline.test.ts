/**
 * The core pipeline end to end, in-process, against the real broker:
 * 8 partitions on 2 worker threads. Every produced id is processed exactly
 * once (clean run), offsets stay in order within each partition, each
 * partition stays on one thread, and one consumer instance per partition is
 * reused across batches (its state survives). The inline backend keeps the
 * same guarantees on the main thread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threadId } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { Server, type App } from '../../src/index.ts';
import { createLogger } from '../../src/logger.ts';
import { createTopic, kafka, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { RECORDING_BOOT, idStats, messageRecords, readRecords, tempFile } from '../helpers/app.ts';

async function runPipeline(backend: 'pool' | 'inline') {
  const topic = unique(`pipeline-${backend}`);
  const group = unique(`pipeline-${backend}-group`);
  const out = tempFile('records.jsonl');
  Object.assign(process.env, { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: group, PARTITA_TEST_OUT: out, PARTITA_TEST_BACKEND: backend, PARTITA_TEST_CONCURRENCY: '2' });
  await createTopic(topic, 8);
  // Imported after the env is set: the boot file reads it (workers re-read it from the same env).
  const app = (await import(`${pathToFileURL(RECORDING_BOOT).href}?${backend}`)).default as App;
  const server = await Server.start({ app, bootFile: RECORDING_BOOT, logger: createLogger({ level: 'warn' }) });
  const produced: number[] = [];
  try {
    // Several rounds, so every partition gets several batches (instance reuse is visible).
    for (let round = 0; round < 4; round++) {
      produced.push(...(await produceIds(topic, round * 1000, 1000)));
      await waitFor(() => messageRecords(out).length >= produced.length, `${produced.length} records`, 60_000);
    }
    await waitFor(() => server.status().groups[0]!.partitions.every((p) => p.committedOffset === p.processedOffset), 'commits to catch up', 10_000);
  } finally {
    await server.stop();
  }
  return { topic, group, out, produced };
}

function checkRun(out: string, produced: number[]) {
  const msgs = messageRecords(out);
  const { distinct, duplicates } = idStats(msgs);
  const deliveries = new Set(msgs.map((m) => `${m.p}@${m.o}`)).size;
  assert.equal(duplicates, 0, `no id processed twice in a clean run (${msgs.length - deliveries} of the repeats were the same offset delivered twice)`);
  assert.deepEqual([...distinct].sort((a, b) => a - b), produced, 'every produced id processed');

  const byPartition = new Map<number, typeof msgs>();
  for (const m of msgs) byPartition.set(m.p, [...(byPartition.get(m.p) ?? []), m]);
  assert.equal(byPartition.size, 8, 'all 8 partitions got data');
  for (const [p, list] of byPartition) {
    for (let i = 1; i < list.length; i++) assert.ok(list[i]!.o! > list[i - 1]!.o!, `partition ${p}: offsets in order`);
    assert.equal(new Set(list.map((m) => m.t)).size, 1, `partition ${p}: one thread throughout`);
    assert.equal(new Set(list.map((m) => m.i)).size, 1, `partition ${p}: one consumer instance throughout`);
    assert.ok(Math.max(...list.map((m) => m.b!)) > 1, `partition ${p}: the instance saw several batches`);
  }
  return byPartition;
}

test('pool backend: 8 partitions on 2 worker threads, exactly once, ordered, pinned, persistent instances', { timeout: 120_000 }, async () => {
  const { topic, group, out, produced } = await runPipeline('pool');
  const byPartition = checkRun(out, produced);
  const threads = new Set([...byPartition.values()].map((l) => l[0]!.t));
  assert.equal(threads.size, 2, 'partitions spread over both worker threads');
  assert.ok(!threads.has(threadId), 'nothing ran on the main thread');

  const events = readRecords(out);
  assert.equal(events.filter((e) => e.e === 'initialized').length, 8, 'initialized() once per partition');
  assert.equal(events.filter((e) => e.e === 'shutdown').length, 8, 'shutdown() once per partition on stop');

  const admin = kafka().admin();
  await admin.connect();
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  for (const e of ends) {
    assert.equal(committed!.partitions.find((c) => c.partition === e.partition)!.offset, e.high, `partition ${e.partition} committed to its end`);
  }
});

test('inline backend: same guarantees on the main thread', { timeout: 120_000 }, async () => {
  const { out, produced } = await runPipeline('inline');
  const byPartition = checkRun(out, produced);
  for (const list of byPartition.values()) assert.equal(list[0]!.t, threadId, 'ran on the main thread');
});
