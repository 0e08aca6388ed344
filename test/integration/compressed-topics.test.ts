/**
 * Compressed topics, written by Kafka's own Java producer (ConsoleProducer)
 * with each compression type, the topic configured to store that type too
 * (so the broker keeps, or recompresses to, exactly that codec): a Partita
 * server consumes every id once, in windows of 37 that end inside batches,
 * and commits through the log end. Before the
 * codecs were installed, snappy, lz4 and zstd crashed the fetcher with
 * FETCHER_CRASHED at the first batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { libsDir } from '../../scripts/kafka/broker.ts';
import { commitsVsLogEnd, kafka, unique, waitFor } from '../helpers/kafka.ts';
import { RECORDING_BOOT, fatalErrors, idStats, messageRecords, startServer, tempFile } from '../helpers/app.ts';

const COUNT = 3000;

/** Writes `{"id":N}` records keyed N for ids [0, COUNT) with Kafka's ConsoleProducer, compressed with `codec`. */
function produceWithJava(topic: string, codec: string): Promise<void> {
  const bootstrap = process.env.KAFKA_BROKERS!.split(',')[0]!;
  const child = spawn(
    'java',
    [
      '-Xmx256m',
      '-cp',
      `${libsDir()}/*`,
      'org.apache.kafka.tools.ConsoleProducer',
      '--bootstrap-server',
      bootstrap,
      '--topic',
      topic,
      '--producer-property',
      `compression.type=${codec}`,
      '--producer-property',
      'linger.ms=20',
      '--producer-property',
      'batch.size=65536',
      // Keyed, so both partitions get records (unkeyed, the sticky partitioner may fill one).
      '--property',
      'parse.key=true',
    ],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const lines: string[] = [];
  for (let id = 0; id < COUNT; id++) lines.push(`${id}\t${JSON.stringify({ id })}`);
  child.stdin.end(lines.join('\n') + '\n');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ConsoleProducer exited ${code}: ${stderr.slice(-2000)}`))));
  });
}

for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
  test(`a ${codec} topic written by the Java producer: every id consumed and committed`, { timeout: 120_000 }, async () => {
    const topic = unique(`compressed-${codec}`);
    const group = unique(`compressed-${codec}-group`);
    const admin = kafka().admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'compression.type', value: codec }] }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    await produceWithJava(topic, codec);
    const out = tempFile('records.jsonl');
    const fatalBefore = fatalErrors.length;
    // maxMessages 37: windows end inside nearly every batch (the Java producer's are ~100-1,000
    // records here), so the next window reads on from a batch decompressed by the one before.
    const server = await startServer(RECORDING_BOOT, `compressed-${codec}`, { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: group, PARTITA_TEST_OUT: out, PARTITA_TEST_CONCURRENCY: '2', PARTITA_TEST_MAX_MESSAGES: '37' });
    try {
      await waitFor(() => idStats(messageRecords(out)).distinct.size >= COUNT || fatalErrors.length > fatalBefore, `${COUNT} ids`, 60_000);
      assert.deepEqual(fatalErrors.slice(fatalBefore).map((e) => `${e.message}`), [], 'the fetcher did not crash');
      const ends = await commitsVsLogEnd(group, topic);
      assert.ok(ends.every((p) => p.logEnd > 0), `both partitions hold records: ${JSON.stringify(ends)}`);
      await waitFor(async () => (await commitsVsLogEnd(group, topic)).every((p) => p.committed === p.logEnd), 'commits through the log end', 20_000).catch(async (err) => {
        throw new Error(`${err.message}: ${JSON.stringify(await commitsVsLogEnd(group, topic))}; status ${JSON.stringify(server.status().groups[0]?.partitions)}`);
      });
    } finally {
      await server.stop();
    }
    const { distinct, duplicates } = idStats(messageRecords(out));
    assert.deepEqual([...distinct].sort((a, b) => a - b), Array.from({ length: COUNT }, (_, i) => i));
    assert.equal(duplicates, 0, 'a clean run delivers each id once');
  });
}
