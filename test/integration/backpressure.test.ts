/**
 * Backpressure: with a slow consumer and a large backlog in Kafka, each
 * partition holds at most `prefetch` queued batches (each at most
 * maxBytesPerPartition) besides the one in flight; a full partition is paused
 * in kafkajs and resumed as it drains. So the process's memory is bounded by
 * configuration, not by the backlog.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { Server, type App } from '../../src/index.ts';
import { createLogger } from '../../src/logger.ts';
import { createTopic, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { RECORDING_BOOT, messageRecords, tempFile } from '../helpers/app.ts';

test('a slow consumer over a 30 MB backlog: queues stay within prefetch, partitions pause, memory stays flat', { timeout: 180_000 }, async () => {
  const topic = unique('backpressure');
  const out = tempFile('records.jsonl');
  Object.assign(process.env, {
    PARTITA_TEST_TOPIC: topic,
    PARTITA_TEST_GROUP: unique('backpressure-group'),
    PARTITA_TEST_OUT: out,
    PARTITA_TEST_DELAY_MS: '200',
    PARTITA_TEST_PREFETCH: '1',
    PARTITA_TEST_MAX_BYTES: String(64 * 1024),
  });
  await createTopic(topic, 2);
  const pad = 'x'.repeat(1000);
  const produced = await produceIds(topic, 0, 30_000, { value: (id) => JSON.stringify({ id, pad }), perSend: 40 });

  const app = (await import(`${pathToFileURL(RECORDING_BOOT).href}?backpressure`)).default as App;
  const server = await Server.start({ app, bootFile: RECORDING_BOOT, logger: createLogger({ level: 'warn' }) });
  let maxQueued = 0;
  let sawPaused = false;
  let rssBefore = 0;
  let maxRss = 0;
  try {
    await waitFor(() => server.ready && messageRecords(out).length > 0, 'group joined and consuming', 30_000);
    // Baseline once threads are up and consuming; from here only queued batches could grow memory.
    rssBefore = maxRss = process.memoryUsage().rss;
    const until = Date.now() + 4000;
    while (Date.now() < until) {
      for (const p of server.status().groups[0]!.partitions) {
        maxQueued = Math.max(maxQueued, p.queuedBatches);
        sawPaused ||= p.paused;
      }
      maxRss = Math.max(maxRss, process.memoryUsage().rss);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await server.stop();
  }
  const processed = messageRecords(out).length;
  assert.ok(processed > 0, 'it consumed');
  assert.ok(processed < produced.length / 2, `most of the backlog stayed in Kafka (${processed} of ${produced.length} processed)`);
  assert.ok(maxQueued <= 1, `at most prefetch (1) batch queued per partition, saw ${maxQueued}`);
  assert.ok(sawPaused, 'a full partition was paused');
  // Bound: 2 partitions × (1 queued + 1 in flight) × 64 KB; allow generous slack for runtime noise.
  const growthMb = (maxRss - rssBefore) / 2 ** 20;
  assert.ok(growthMb < 40, `RSS grew by ${growthMb.toFixed(0)} MB while a 30 MB backlog waited`);
  console.log(`# backpressure: processed ${processed}/${produced.length}, max queued ${maxQueued}, RSS growth ${growthMb.toFixed(1)} MB`);
});
