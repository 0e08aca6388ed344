/**
 * Offsets above 2^32 from a real broker. No test can produce four billion
 * records, so a broker of its own is given a log that starts there: records
 * are produced, the broker is stopped, the partition's segment is rewritten
 * with every batch's base offset moved up by 2^32 (the base offset is outside
 * the CRC-covered part of a batch, so the batches stay valid) and renamed
 * after its new first offset, and the broker, started again, recovers the
 * segment and serves offsets 2^32 … 2^32 + n. Partita must deliver every
 * record with its exact offset and commit the exact log end, on the pool and
 * inline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTopic, kafka, produceIds, waitFor } from '../helpers/kafka.ts';
import { consumeAll, idStats } from '../helpers/app.ts';
import { clusterDir, nodeDir } from '../../scripts/kafka/layout.ts';
import { startCluster, stopCluster, stopNode } from '../../scripts/kafka/broker.ts';

const port = 19900; // controllers on port + 100: clear of every other test cluster
const SHIFT = 2 ** 32;
const TOPIC = 'beyond-2-32';
const COUNT = 3000;

/** Moves every batch of a segment file up by `shift` offsets (baseOffset is the first 8 bytes of a batch, batchLength the next 4). */
function shiftSegment(bytes: Buffer, shift: number): Buffer {
  const out = Buffer.from(bytes);
  for (let at = 0; at + 12 <= out.length; at += 12 + out.readInt32BE(at + 8)) out.writeBigInt64BE(out.readBigInt64BE(at) + BigInt(shift), at);
  return out;
}

test('offsets above 2^32 served by a real broker: exact offsets delivered, the exact log end committed (pool and inline)', { timeout: 300_000 }, async () => {
  const info = await startCluster({ nodes: 1, port, fresh: true, heapMb: 384 });
  process.env.KAFKA_BROKERS = info.bootstrap;
  try {
    await createTopic(TOPIC, 1);
    // Not idempotent: the broker's producer-state snapshots would still name the old offsets.
    const ids = await produceIds(TOPIC, 0, COUNT, { perSend: 250 });
    await stopNode({ nodes: 1, port, index: 0 });

    const dir = join(nodeDir(clusterDir(port, 1), 0), 'data', `${TOPIC}-0`);
    const first = join(dir, `${'0'.repeat(20)}.log`);
    assert.ok(existsSync(first), `the partition's first segment ${first}`);
    writeFileSync(join(dir, `${String(SHIFT).padStart(20, '0')}.log`), shiftSegment(readFileSync(first), SHIFT));
    // The old segment, its indexes (rebuilt on recovery), producer snapshots and leader epochs all name the old offsets.
    for (const f of readdirSync(dir)) if (/^0{20}\.|\.snapshot$|^leader-epoch-checkpoint$/.test(f)) rmSync(join(dir, f));
    // startCluster (not startNode): it waits until the broker answers, which takes longer on a loaded machine (recovery).
    await startCluster({ nodes: 1, port, heapMb: 384 });

    const admin = kafka().admin();
    await admin.connect();
    try {
      await waitFor(async () => {
        const [p] = await admin.fetchTopicOffsets(TOPIC).catch(() => [undefined]);
        return p !== undefined && Number(p.low) === SHIFT && Number(p.high) === SHIFT + COUNT;
      }, `the broker serving ${TOPIC} from offset 2^32`, 60_000, 500);
    } finally {
      await admin.disconnect();
    }

    for (const backend of ['pool', 'inline']) {
      const records = await consumeAll({ tag: `large-offsets-${backend}`, topic: TOPIC, group: `large-offsets-${backend}`, expected: COUNT, env: { PARTITA_TEST_BACKEND: backend } });
      const { distinct, duplicates } = idStats(records);
      assert.equal(duplicates, 0, `${backend}: nothing delivered twice`);
      assert.deepEqual([...distinct].sort((a, b) => a - b), ids, `${backend}: every id`);
      // produceIds writes ids in order to the one partition: id n is at offset 2^32 + n.
      for (const r of records) assert.equal(r.o, SHIFT + r.id!, `${backend}: id ${r.id} at offset 2^32 + ${r.id}`);
      // consumeAll returned only once Kafka's committed offset equalled the log end, 2^32 + COUNT (read back with the admin API).
    }
  } finally {
    await stopCluster({ nodes: 1, port });
  }
});
