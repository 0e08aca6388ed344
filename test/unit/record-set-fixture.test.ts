/**
 * The record-set decoder on real bytes: one Fetch response's record set
 * captured from Kafka (scripts/capture-fetch-fixture.ts) holding plain
 * batches with headers, null keys and values, a gzip batch, a committed and
 * an aborted transaction with their control batches. Decoding it gives
 * exactly what kafkajs's own decoding delivered from the broker (read
 * committed), in offset order; without the aborted list the aborted records
 * appear (read_uncommitted); a fetch offset inside a batch drops what is
 * before it; a flipped byte anywhere in a batch is BATCH_CORRUPT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decompressRecords } from '../../src/protocol/compression.ts';
import { decodeRecordSet, type DecodedRecords } from '../../src/protocol/record-set.ts';

const dir = join(import.meta.dirname, '..', 'fixtures', 'fetch');
const bytes = readFileSync(join(dir, 'mixed.bin'));
const fixture = JSON.parse(readFileSync(join(dir, 'mixed.json'), 'utf8')) as {
  aborted: Array<{ producerId: string; firstOffset: number }>;
  expected: Array<{ offset: number; key: string | null; value: string | null; headers: Record<string, string> }>;
};
const aborted = fixture.aborted.map((a) => ({ producerId: BigInt(a.producerId), firstOffset: a.firstOffset }));

function rows(d: DecodedRecords) {
  return d.offsets.map((offset, i) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(d.headers.at(i) ?? {})) if (v !== undefined) headers[k] = Array.isArray(v) ? v.map(String).join(',') : String(v);
    return { offset, key: d.keys.at(i)?.toString() ?? null, value: d.values.at(i)?.toString() ?? null, headers };
  });
}

const decode = (more: { fetchOffset?: number; aborted?: typeof aborted } = {}) =>
  decodeRecordSet(bytes, { fetchOffset: more.fetchOffset ?? 0, checkCrcs: true, abortedTransactions: more.aborted ?? aborted, decompress: decompressRecords });

test('a captured Fetch record set decodes to exactly what kafkajs delivered (read_committed)', () => {
  assert.ok(fixture.aborted.length >= 1, 'the broker sent the aborted transaction');
  assert.deepEqual(rows(decode()), fixture.expected);
});

test('without the aborted list (read_uncommitted) the aborted records appear, control records still do not', () => {
  const all = rows(decode({ aborted: [] }));
  const extra = all.filter((r) => !fixture.expected.some((e) => e.offset === r.offset));
  assert.equal(extra.length, 10);
  assert.ok(extra.every((r) => r.value?.startsWith('aborted')));
});

test('a fetch offset inside a batch drops the records before it', () => {
  const middle = fixture.expected[Math.floor(fixture.expected.length / 2)]!.offset;
  assert.deepEqual(rows(decode({ fetchOffset: middle })), fixture.expected.filter((e) => e.offset >= middle));
});

test('a flipped byte in any of its batches is BATCH_CORRUPT', () => {
  const starts: number[] = [];
  for (let at = 0; at + 12 <= bytes.length; at += 12 + bytes.readInt32BE(at + 8)) starts.push(at);
  assert.ok(starts.length >= 6, `several batches (${starts.length})`);
  for (const start of starts) {
    const copy = Buffer.from(bytes);
    copy[start + 40] = copy[start + 40]! ^ 0x01; // inside the CRC-covered header part
    assert.throws(() => decodeRecordSet(copy, { fetchOffset: 0, checkCrcs: true, abortedTransactions: aborted, decompress: decompressRecords }), (err: Error & { code?: string }) => err.code === 'BATCH_CORRUPT');
  }
});
