/**
 * `npm run bench:decode`: what reading a record set costs on the thread that
 * runs a batch (src/protocol/record-set.ts), per record, with and without the
 * CRC-32C check (group setting `checkCrcs`), for small and 1 KB values,
 * uncompressed and gzip. No broker: the record sets are built from the
 * protocol's layout (test/helpers/record-batches.ts), 1 MiB each like a
 * default fetch of one partition, batches of 16 KiB like a producer's default.
 */
import { performance } from 'node:perf_hooks';
import { decompressRecords } from '../src/protocol/compression.ts';
import { decodeRecordSet } from '../src/protocol/record-set.ts';
import { batch } from '../test/helpers/record-batches.ts';

function recordSet(valueBytes: number, gzip: boolean): { bytes: Buffer; records: number } {
  const value = 'x'.repeat(valueBytes);
  const perBatch = Math.max(1, Math.floor(16_384 / (valueBytes + 12)));
  const batches: Buffer[] = [];
  let offset = 0;
  let size = 0;
  while (size < 1024 * 1024) {
    const b = batch({ baseOffset: offset, gzip, records: Array.from({ length: perBatch }, (_, i) => ({ offsetDelta: i, timestampDelta: i, key: String(offset + i), value })) });
    batches.push(b);
    size += b.length;
    offset += perBatch;
  }
  return { bytes: Buffer.concat(batches), records: offset };
}

function time(bytes: Buffer, checkCrcs: boolean, minMs = 1500): number {
  let n = 0;
  let records = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    records += decodeRecordSet(bytes, { fetchOffset: 0, checkCrcs, abortedTransactions: [], decompress: decompressRecords }).offsets.length;
    n += 1;
  }
  return ((performance.now() - start) * 1e6) / records; // ns per record
}

console.log('| record set (1 MiB) | records | ns/record, CRC checked | ns/record, unchecked | CRC share | records/s per thread (checked) |');
console.log('|---|---|---|---|---|---|');
for (const [valueBytes, gzip] of [[9, false], [1024, false], [9, true], [1024, true]] as const) {
  const { bytes, records } = recordSet(valueBytes, gzip);
  // Alternating rounds, best of each: GC and JIT noise otherwise swamp the CRC's share.
  let checked = Infinity;
  let unchecked = Infinity;
  for (let round = 0; round < 4; round++) {
    checked = Math.min(checked, time(bytes, true, 400));
    unchecked = Math.min(unchecked, time(bytes, false, 400));
  }
  const share = Math.max(0, (checked - unchecked) / checked);
  console.log(`| ${valueBytes} B values${gzip ? ', gzip' : ''} | ${records} | ${checked.toFixed(0)} | ${unchecked.toFixed(0)} | ${(share * 100).toFixed(0)}% | ${(1e9 / checked / 1000).toFixed(0)}k |`);
}
