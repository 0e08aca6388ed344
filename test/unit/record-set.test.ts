/**
 * The record-set decoder on batches built here from the protocol's layout
 * (so each edge case is exact): offsets and timestamps, keys, values and
 * repeated headers; the fetch offset inside a batch; control batches; aborted
 * transactions under read_committed; compressed batches; a partial trailing
 * batch; compacted gaps; CRC-32C checked (and skippable); corrupt input as
 * BATCH_CORRUPT. Batches written by Kafka itself: test/integration/record-set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync, gunzipSync } from 'node:zlib';
import { batch } from '../helpers/record-batches.ts';
import { decodeRecordSet, type BatchCarry, type DecodeOptions } from '../../src/protocol/record-set.ts';
import { SpanColumn } from '../../src/protocol/columns.ts';
import { pickRows } from '../../src/protocol/batch-codec.ts';
import { Message } from '../../src/messages/messages.ts';
import { resolveDeserializer } from '../../src/messages/deserializers.ts';

const opts = (more: Partial<DecodeOptions> = {}): DecodeOptions => ({
  fetchOffset: 0,
  checkCrcs: true,
  abortedTransactions: [],
  decompress: (codec, b) => {
    assert.equal(codec, 1);
    return gunzipSync(b);
  },
  ...more,
});

const s = (b: Buffer | null | undefined) => b?.toString() ?? null;

test('records: offsets, timestamps, keys, values (null too), headers (a repeated name becomes a list)', () => {
  const set = Buffer.concat([
    batch({ baseOffset: 100, baseTimestamp: 5000, records: [{ offsetDelta: 0, timestampDelta: 0, key: 'a', value: '1' }, { offsetDelta: 1, timestampDelta: 7, key: null, value: null, headers: [['h', 'x'], ['h', 'y'], ['k', 'z']] }] }),
    batch({ baseOffset: 102, baseTimestamp: 6000, records: [{ offsetDelta: 0, key: 'c', value: '3' }] }),
  ]);
  const d = decodeRecordSet(set, opts());
  assert.deepEqual(d.offsets, [100, 101, 102]);
  assert.deepEqual(d.timestamps, [5000, 5007, 6000]);
  assert.deepEqual(d.keys.toArray().map(s), ['a', null, 'c']);
  assert.deepEqual(d.values.toArray().map(s), ['1', null, '3']);
  assert.equal(d.headers.at(0), null);
  assert.deepEqual(Object.fromEntries(Object.entries(d.headers.at(1)!).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : String(v)])), { h: ['x', 'y'], k: 'z' });
  assert.equal(d.nextOffset, 103);
  assert.equal(d.batches, 2);
});

test('the fetch offset inside a batch drops the records before it; a compacted gap is kept as a gap', () => {
  const set = batch({ baseOffset: 10, records: [{ offsetDelta: 0, value: 'a' }, { offsetDelta: 3, value: 'b' }, { offsetDelta: 5, value: 'c' }], lastOffsetDelta: 6 });
  const d = decodeRecordSet(set, opts({ fetchOffset: 12 }));
  assert.deepEqual(d.offsets, [13, 15]);
  assert.equal(d.nextOffset, 17, 'the next fetch starts after the batch’s last offset, even with the last record compacted away');
});

test('control batches are skipped but move the position; a partial trailing batch is left for the next fetch', () => {
  const full = Buffer.concat([batch({ baseOffset: 0, records: [{ offsetDelta: 0, value: 'a' }] }), batch({ baseOffset: 1, control: true, transactional: true, producerId: 7, records: [{ offsetDelta: 0, key: '\u0000\u0000\u0000\u0001', value: 'marker' }] })]);
  const next = batch({ baseOffset: 2, records: [{ offsetDelta: 0, value: 'b' }] });
  const d = decodeRecordSet(Buffer.concat([full, next.subarray(0, next.length - 5)]), opts());
  assert.deepEqual(d.values.toArray().map(s), ['a']);
  assert.equal(d.nextOffset, 2, 'after the control batch; the cut batch is fetched again');
  assert.equal(d.batches, 2);
  assert.equal(decodeRecordSet(next.subarray(0, 8), opts()).nextOffset, null, 'not even a batch header: nothing decoded');
});

test('read_committed: records of an aborted transaction are dropped up to its marker, others kept', () => {
  const set = Buffer.concat([
    batch({ baseOffset: 0, transactional: true, producerId: 7, records: [{ offsetDelta: 0, value: 'aborted-1' }, { offsetDelta: 1, value: 'aborted-2' }] }),
    batch({ baseOffset: 2, transactional: true, producerId: 8, records: [{ offsetDelta: 0, value: 'committed' }] }),
    batch({ baseOffset: 3, control: true, transactional: true, producerId: 7, records: [{ offsetDelta: 0, key: 'abort', value: 'm' }] }),
    batch({ baseOffset: 4, transactional: true, producerId: 7, records: [{ offsetDelta: 0, value: 'next-txn' }] }),
    batch({ baseOffset: 5, records: [{ offsetDelta: 0, value: 'plain' }] }),
  ]);
  const d = decodeRecordSet(set, opts({ abortedTransactions: [{ producerId: 7n, firstOffset: 0 }] }));
  assert.deepEqual(d.values.toArray().map(s), ['committed', 'next-txn', 'plain']);
  assert.deepEqual(d.offsets, [2, 4, 5]);
  assert.equal(d.nextOffset, 6);
  // read_uncommitted: nothing is aborted.
  assert.deepEqual(decodeRecordSet(set, opts()).values.toArray().map(s), ['aborted-1', 'aborted-2', 'committed', 'next-txn', 'plain']);
});

test('compressed batches are decompressed; their records are views on the decompressed bytes', () => {
  const d = decodeRecordSet(batch({ baseOffset: 50, gzip: true, records: [{ offsetDelta: 0, key: 'k', value: 'v1' }, { offsetDelta: 1, value: 'v2' }] }), opts());
  assert.deepEqual(d.offsets, [50, 51]);
  assert.deepEqual(d.values.toArray().map(s), ['v1', 'v2']);
});

test('a wrong CRC-32C is BATCH_CORRUPT (and passes when checks are off); nonsense is BATCH_CORRUPT', () => {
  const bad = batch({ baseOffset: 0, records: [{ offsetDelta: 0, value: 'a' }], badCrc: true });
  assert.throws(() => decodeRecordSet(bad, opts()), { code: 'BATCH_CORRUPT', message: /CRC-32C/ });
  assert.deepEqual(decodeRecordSet(bad, opts({ checkCrcs: false })).values.toArray().map(s), ['a']);
  const garbage = Buffer.concat([batch({ baseOffset: 0, records: [{ offsetDelta: 0, value: 'a' }] })]);
  garbage.writeInt8(1, 16); // magic 1
  assert.throws(() => decodeRecordSet(garbage, opts()), { code: 'BATCH_CORRUPT', message: /magic 1/ });
  const short = batch({ baseOffset: 0, records: [{ offsetDelta: 0, value: 'abc' }] });
  short.writeInt32BE(1000, 61); // the record's length varint region overwritten: runs past the batch
  assert.throws(() => decodeRecordSet(short, opts({ checkCrcs: false })), { code: 'BATCH_CORRUPT' });
});

test('timestamp deltas: negative, past 32 bits (plain arithmetic) and past 49 bits (the BigInt path) are exact', () => {
  const deltas = [-5, 0, 2 ** 40, -(2 ** 40), 2 ** 52 + 3, -(2 ** 50) - 1];
  const base = 1_700_000_000_000;
  const set = batch({ baseOffset: 0, baseTimestamp: base, records: deltas.map((d, i) => ({ offsetDelta: i, timestampDelta: d, value: 'v' })) });
  const d = decodeRecordSet(set, opts());
  assert.deepEqual(d.timestamps, deltas.map((x) => base + x));
});

test('offsets above 2^32 are exact numbers; a base offset past 2^53 is BATCH_CORRUPT, never rounded', () => {
  const base = 2 ** 33 + 5;
  const d = decodeRecordSet(batch({ baseOffset: base, records: [{ offsetDelta: 0, value: 'a' }, { offsetDelta: 7, value: 'b' }] }), opts());
  assert.deepEqual(d.offsets, [base, base + 7]);
  assert.equal(d.nextOffset, base + 8);
  const beyond = batch({ baseOffset: 0, records: [{ offsetDelta: 0, value: 'a' }] });
  beyond.writeBigInt64BE(2n ** 53n + 1n, 0); // the base offset is outside the CRC-covered part
  assert.throws(() => decodeRecordSet(beyond, opts()), (err: Error & { code?: string }) => err.code === 'BATCH_CORRUPT' && /beyond 2\^53/.test(err.message));
});

test('keys, values and headers are views made on access; picked rows stay lazy and in step; Message reads them', () => {
  const set = Buffer.concat([
    batch({ baseOffset: 0, records: [0, 1, 2, 3].map((i) => ({ offsetDelta: i, timestampDelta: i, key: `k${i}`, value: `v${i}`, ...(i === 2 ? { headers: [['h', 'x'] as [string, string]] } : {}) })) }),
    batch({ baseOffset: 4, gzip: true, records: [{ offsetDelta: 0, timestampDelta: 0, key: 'k4', value: 'v4' }] }),
  ]);
  const d = decodeRecordSet(set, opts());
  assert.ok(d.keys instanceof SpanColumn && d.keys.spans === d.values.spans && d.values.spans === d.headers.spans, 'one set of positions behind the three columns');
  const v0 = d.values.at(0)!;
  assert.equal(v0.buffer, set.buffer, 'an uncompressed value is a view on the record set, not a copy');
  assert.equal(s(d.values.at(-1)), 'v4', 'a compressed batch: a view on its decompressed records');
  assert.equal(d.values.at(5), undefined);
  const raw = { topic: 't', partition: 0, highWatermark: 5, offsets: d.offsets, timestamps: d.timestamps, keys: d.keys, values: d.values, headers: d.headers };
  const picked = pickRows(raw, [4, 2]);
  assert.ok(picked.keys instanceof SpanColumn, 'picking rows keeps the columns lazy');
  assert.deepEqual(picked.offsets, [4, 2]);
  assert.deepEqual([0, 1].map((i) => s(picked.keys.at(i))), ['k4', 'k2']);
  const m = new Message(picked, 1, resolveDeserializer('string'));
  assert.equal(m.keyString, 'k2');
  assert.equal(m.payload, 'v2');
  assert.equal(m.header('h'), 'x');
  assert.deepEqual(new Message(picked, 0, resolveDeserializer('string')).headers, {});
});

test('a compressed batch a window stops inside is decompressed once for the windows that read it (the carry); a retry reads it afresh', () => {
  const tenIn = (baseOffset: number, tag: string) => batch({ baseOffset, gzip: true, records: Array.from({ length: 10 }, (_, i) => ({ offsetDelta: i, value: `${tag}${baseOffset + i}` })) });
  const set = Buffer.concat([tenIn(0, 'a'), tenIn(10, 'a')]);
  let decompressions = 0;
  const counting = (more: Partial<DecodeOptions>) => opts({ ...more, decompress: (codec, b) => (decompressions++, gunzipSync(b)) });
  // What the runner does: each window gets the carry the window before returned.
  let carry: BatchCarry | undefined;
  const read = (buf: Buffer, more: Partial<DecodeOptions>) => {
    const d = decodeRecordSet(buf, counting({ ...more, carried: carry }));
    carry = d.carry ?? undefined;
    return d;
  };
  // Windows of 3, one after the other, as maxMessages cuts a fetch.
  const seen: string[] = [];
  for (let from = 0; from < 20; ) {
    const d = read(set, { fetchOffset: from, maxRecords: 3 });
    seen.push(...d.values.toArray().map((v) => String(v)));
    from = d.stoppedAt ?? 20;
  }
  assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => `a${i}`));
  assert.equal(decompressions, 2, 'each batch decompressed once, not once per window (7 windows)');
  assert.equal(carry, undefined, 'nothing kept once the last window read its batch to the end');
  // Without a carry, as before: each of the 7 windows decompresses the batch it starts in, and the one from 9 both.
  decompressions = 0;
  for (let from = 0; from < 20; ) from = decodeRecordSet(set, counting({ fetchOffset: from, maxRecords: 3 })).stoppedAt ?? 20;
  assert.equal(decompressions, 8);
  // A retry starts below where the carry was kept: it decompresses (consume() may have written into its views).
  decompressions = 0;
  const first = read(set, { fetchOffset: 0, maxRecords: 3 });
  assert.equal(first.stoppedAt, 3);
  const retry = read(set, { fetchOffset: 0, maxRecords: 3 });
  assert.deepEqual([retry.offsets, decompressions], [[0, 1, 2], 2]);
  // A batch at the same offset with other bytes (the log rewritten, another record set) is not taken for the carried one.
  read(set, { fetchOffset: 0, maxRecords: 3 });
  const other = Buffer.concat([tenIn(0, 'b'), tenIn(10, 'b')]);
  const next = read(other, { fetchOffset: 3, maxRecords: 3 });
  assert.deepEqual(next.values.toArray().map((v) => String(v)), ['b3', 'b4', 'b5']);
  // The carry is the batch's records; a window that reads them to the end keeps none.
  const kept = decodeRecordSet(set, opts({ fetchOffset: 0, maxRecords: 3 })).carry;
  assert.deepEqual([kept?.baseOffset, kept?.from, gunzipSync(set.subarray(61, 12 + set.readInt32BE(8))).equals(kept!.records)], [0, 3, true]);
  assert.equal(decodeRecordSet(set, opts({ fetchOffset: 3, maxRecords: 100, carried: kept! })).carry, null);
});
