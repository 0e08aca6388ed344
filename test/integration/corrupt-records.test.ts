/**
 * Records that fail their CRC-32C, for real: a byte of one record batch in
 * the broker's own segment file is flipped (the broker serves log bytes as
 * they are on disk; it checks CRCs when records are written, not when they
 * are read), then a server consumes the topic. The corrupt partition stops
 * at the bad batch with BATCH_CORRUPT, named in /health's warnings (still
 * healthy: a restart would read the same bytes) and counted as
 * reason="corrupt"; the other partition is consumed and committed in full;
 * the process does not crash. Once the byte is restored, the re-fetch heals
 * the partition and every id is consumed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { commitsVsLogEnd, createTopic, localDataDir, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { RECORDING_BOOT, fatalErrors, idStats, messageRecords, startServer, tempFile } from '../helpers/app.ts';

const dataDir = localDataDir();

/** Flips one byte of the file in place (twice restores it). */
function flip(file: string, position: number): void {
  const fd = openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, position);
    b[0] = b[0]! ^ 0xff;
    writeSync(fd, b, 0, 1, position);
  } finally {
    closeSync(fd);
  }
}

test('a record batch that fails its CRC-32C stops only its partition, visibly, and heals when the bytes do', { timeout: 180_000, skip: dataDir ? false : 'the broker is not the local one this repo runs (no segment files to corrupt)' }, async () => {
  const topic = unique('corrupt');
  const group = unique('corrupt-group');
  await createTopic(topic, 2);
  const produced = await produceIds(topic, 0, 2000, { perSend: 100 });
  const partitionDir = join(dataDir!, `${topic}-0`);
  const segment = join(partitionDir, readdirSync(partitionDir).find((f) => f.endsWith('.log'))!);
  // The second record batch of partition 0: inside its records (past the 61-byte batch header).
  const bytes = readFileSync(segment);
  const second = 12 + bytes.readInt32BE(8);
  assert.ok(second + 12 < bytes.length, 'partition 0 holds at least two record batches');
  const secondBase = Number(bytes.readBigInt64BE(second));
  const position = second + 61 + 3;
  flip(segment, position);

  const out = tempFile('records.jsonl');
  const fatalBefore = fatalErrors.length;
  const server = await startServer(RECORDING_BOOT, 'corrupt', { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: group, PARTITA_TEST_OUT: out, PARTITA_TEST_CONCURRENCY: '2' });
  let restored = false;
  try {
    await waitFor(async () => (await commitsVsLogEnd(group, topic)).find((p) => p.partition === 1)?.committed === (await commitsVsLogEnd(group, topic)).find((p) => p.partition === 1)?.logEnd, 'partition 1 committed through its log end', 60_000);
    await waitFor(() => server.health().warnings.length > 0, 'a warning in /health', 30_000);
    const health = server.health();
    assert.equal(health.healthy, true, 'corrupt records do not make the process unhealthy (a restart reads the same bytes)');
    assert.match(health.warnings[0]!, new RegExp(`${topic}/0: the records from offset \\d+ are corrupt \\(BATCH_CORRUPT\\)`));
    const p0 = server.status().groups[0]!.partitions.find((p) => p.partition === 0)!;
    assert.ok(p0.corruptFrom !== undefined && p0.corruptFrom <= secondBase, `the partition stops at or before the bad batch (offset ${secondBase}): ${JSON.stringify(p0)}`);
    const corrupt = /partita_consume_errors_total\{[^}]*reason="corrupt"[^}]*\} (\d+)/.exec(await server.metrics());
    assert.ok(corrupt && Number(corrupt[1]) > 0, 'counted as reason="corrupt"');
    const seenOn0 = messageRecords(out).filter((r) => r.p === 0 && r.o !== undefined && r.o >= secondBase);
    assert.deepEqual(seenOn0, [], 'nothing at or past the bad batch reached consume()');
    assert.deepEqual(fatalErrors.slice(fatalBefore).map((e) => e.message), [], 'no crash');

    flip(segment, position);
    restored = true;
    await waitFor(() => idStats(messageRecords(out)).distinct.size >= produced.length, 'every id once the bytes are whole again', 60_000);
    await waitFor(async () => (await commitsVsLogEnd(group, topic)).every((p) => p.committed === p.logEnd), 'commits through the log end', 30_000);
    await waitFor(() => server.health().warnings.length === 0, 'the warning cleared', 10_000);
  } finally {
    if (!restored) flip(segment, position);
    await server.stop();
  }
  const { distinct } = idStats(messageRecords(out));
  assert.deepEqual([...distinct].sort((a, b) => a - b), produced);
});
