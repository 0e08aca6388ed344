/**
 * Instrumentation events as an embedder sees them, against the real broker:
 * subscribed before the start (through `events`), a run of the pool backend
 * reports the join and every assigned partition, batches whose message
 * counts add up to what was produced, and commits Kafka acknowledged (read
 * back from Kafka: they agree). The same events reach
 * `node:diagnostics_channel` subscribers, and a listener that throws breaks
 * nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { pathToFileURL } from 'node:url';
import { EVENT_NAMES, Instrumentation, Server, type App, type PartitaEvents } from '../../src/index.ts';
import { createLogger } from '../../src/logger.ts';
import { createTopic, kafka, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { RECORDING_BOOT, idStats, messageRecords, tempFile } from '../helpers/app.ts';

test('an embedder subscribes to the events: joins, assignments, batches, commits; diagnostics_channel too; a throwing listener breaks nothing', { timeout: 120_000 }, async () => {
  const topic = unique('events');
  const group = unique('events-group');
  const out = tempFile('records.jsonl');
  Object.assign(process.env, { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: group, PARTITA_TEST_OUT: out, PARTITA_TEST_BACKEND: 'pool', PARTITA_TEST_CONCURRENCY: '2' });
  await createTopic(topic, 4);
  const app = (await import(`${pathToFileURL(RECORDING_BOOT).href}?events`)).default as App;

  const events = new Instrumentation();
  const seen: { [E in keyof PartitaEvents]?: Array<PartitaEvents[E]> } = {};
  for (const name of EVENT_NAMES) events.on(name, (e: unknown) => ((seen[name] ??= []) as unknown[]).push(e));
  let thrown = 0;
  events.on('batch.processed', () => {
    thrown += 1;
    throw new Error('a broken listener');
  });
  const fromChannel: Array<PartitaEvents['batch.processed']> = [];
  const onChannel = (msg: unknown) => fromChannel.push(msg as PartitaEvents['batch.processed']);
  diagnosticsChannel.subscribe('partita:batch.processed', onChannel);
  assert.throws(() => events.on('no.such.event' as never, () => {}), { code: 'INVALID_ARGUMENT' });

  const server = await Server.start({ app, bootFile: RECORDING_BOOT, logger: createLogger({ level: 'silent' }), events });
  assert.equal(server.events, events, 'server.events is the bus it was given');
  const produced = await produceIds(topic, 0, 3000);
  try {
    await waitFor(() => messageRecords(out).length >= produced.length, `${produced.length} records`, 60_000);
    await waitFor(() => server.status().groups[0]!.partitions.every((p) => p.committedOffset === p.processedOffset), 'commits to catch up', 15_000);
  } finally {
    await server.stop();
    diagnosticsChannel.unsubscribe('partita:batch.processed', onChannel);
  }
  assert.deepEqual([...idStats(messageRecords(out)).distinct].sort((a, b) => a - b), produced, 'the throwing listener broke nothing: every id processed');
  assert.ok(thrown > 0);

  const joined = seen['group.joined'] ?? [];
  assert.ok(joined.length >= 1 && joined.every((e) => e.group === group), 'group.joined for this group');
  assert.deepEqual(
    (seen['partition.assigned'] ?? []).map((e) => e.partition).sort(),
    [0, 1, 2, 3],
    'partition.assigned once per partition',
  );

  const processed = seen['batch.processed'] ?? [];
  assert.equal(processed.reduce((n, e) => n + e.messages, 0), produced.length, 'batch.processed messages add up to what was produced');
  for (const e of processed) {
    assert.equal(e.topic, topic);
    assert.equal(typeof e.thread, 'number', 'pool batches name their worker thread');
    assert.ok(e.durationMs >= 0 && e.attempt === 1);
  }
  assert.equal(fromChannel.length, processed.length, 'diagnostics_channel got every batch.processed');
  const fetched = seen['batch.fetched'] ?? [];
  assert.equal(fetched.reduce((n, e) => n + e.messages, 0), produced.length, 'batch.fetched messages add up too');

  // The last acknowledged commit per partition is what Kafka holds.
  const last = new Map<number, number>();
  for (const e of seen['offsets.committed'] ?? []) for (const o of e.offsets) if (o.topic === topic) last.set(o.partition, Math.max(last.get(o.partition) ?? 0, o.offset));
  const admin = kafka().admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const inKafka = new Map(committed!.partitions.map((p) => [p.partition, Number(p.offset)]));
    assert.equal([...inKafka.values()].reduce((a, b) => a + b, 0), produced.length, 'Kafka holds commits for every message');
    assert.deepEqual(new Map([...last].sort(([a], [b]) => a - b)), new Map([...inKafka].sort(([a], [b]) => a - b)), 'offsets.committed agrees with Kafka');
  } finally {
    await admin.disconnect();
  }
  assert.equal(seen['batch.failed'], undefined, 'a clean run has no failures');
});
