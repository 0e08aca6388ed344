/**
 * The record-set decoder on bytes Kafka wrote: a topic filled by Kafka's own
 * Java producer with each compression type, read straight from the broker's
 * log segment file (a segment is record batches exactly as a Fetch response
 * carries them). Every id comes back in offset order, CRCs check out, and a
 * fetch offset inside the log drops what is before it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { libsDir } from '../../scripts/kafka/broker.ts';
import { decompressRecords } from '../../src/protocol/compression.ts';
import { decodeRecordSet } from '../../src/protocol/record-set.ts';
import { kafka, localDataDir, unique, waitFor } from '../helpers/kafka.ts';

const COUNT = 2000;

function produceWithJava(bootstrap: string, topic: string, codec: string): Promise<void> {
  const child = spawn('java', ['-Xmx256m', '-cp', `${libsDir()}/*`, 'org.apache.kafka.tools.ConsoleProducer', '--bootstrap-server', bootstrap, '--topic', topic, '--producer-property', `compression.type=${codec}`, '--producer-property', 'linger.ms=20'], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(Array.from({ length: COUNT }, (_, id) => JSON.stringify({ id })).join('\n') + '\n');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ConsoleProducer exited ${code}: ${stderr.slice(-2000)}`))));
  });
}

const bootstrap = process.env.KAFKA_BROKERS?.split(',')[0] ?? '';
const dataDir = localDataDir();

for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
  test(`record batches written by the Java producer with compression ${codec}, read from the segment file`, { timeout: 60_000, skip: dataDir ? false : 'the broker is not the local one this repo runs (no segment files to read)' }, async () => {
    const topic = unique(`segment-${codec}`);
    const admin = kafka().admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'compression.type', value: codec === 'none' ? 'uncompressed' : codec }] }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    await produceWithJava(bootstrap, topic, codec === 'none' ? 'none' : codec);
    const partitionDir = join(dataDir!, `${topic}-0`);
    const segment = () => join(partitionDir, readdirSync(partitionDir).find((f) => f.endsWith('.log'))!);
    let decoded = decodeRecordSet(Buffer.alloc(0), { fetchOffset: 0, checkCrcs: true, abortedTransactions: [], decompress: decompressRecords });
    await waitFor(() => {
      decoded = decodeRecordSet(readFileSync(segment()), { fetchOffset: 0, checkCrcs: true, abortedTransactions: [], decompress: decompressRecords });
      return decoded.offsets.length >= COUNT;
    }, `${COUNT} records in the segment`, 20_000);
    assert.deepEqual(decoded.offsets, Array.from({ length: COUNT }, (_, i) => i));
    assert.deepEqual(decoded.values.toArray().map((v) => (JSON.parse(v!.toString()) as { id: number }).id), Array.from({ length: COUNT }, (_, i) => i));
    assert.ok(decoded.batches < COUNT, `records were batched (${decoded.batches} batches)`);
    assert.equal(decoded.nextOffset, COUNT);
    const from = decodeRecordSet(readFileSync(segment()), { fetchOffset: 1234, checkCrcs: true, abortedTransactions: [], decompress: decompressRecords });
    assert.equal(from.offsets[0], 1234, 'a fetch offset inside a batch drops the records before it');
    assert.equal(from.offsets.length, COUNT - 1234);
  });
}
