/**
 * Record batches (message format v2) built byte by byte from the Kafka
 * protocol documentation's layout, for tests of the decoder and of what
 * runs on it: each edge case exact, no broker needed.
 */
import { gzipSync } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';

export function varint(n: number): Buffer {
  let z = ((n << 1) ^ (n >> 31)) >>> 0;
  const out: number[] = [];
  while (z > 0x7f) {
    out.push((z & 0x7f) | 0x80);
    z >>>= 7;
  }
  out.push(z);
  return Buffer.from(out);
}

/** Zig-zag varlong (any 64-bit value). */
export function varlong(n: number): Buffer {
  let z = BigInt.asUintN(64, (BigInt(n) << 1n) ^ (BigInt(n) >> 63n));
  const out: number[] = [];
  while (z > 0x7fn) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return Buffer.from(out);
}

export interface R {
  offsetDelta: number;
  timestampDelta?: number;
  key?: string | null;
  value?: string | null;
  headers?: Array<[string, string]>;
}

function bytesField(s: string | null | undefined): Buffer {
  if (s === null || s === undefined) return varint(-1);
  const b = Buffer.from(s);
  return Buffer.concat([varint(b.length), b]);
}

function record(r: R): Buffer {
  const body = Buffer.concat([
    Buffer.from([0]),
    varlong(r.timestampDelta ?? 0),
    varint(r.offsetDelta),
    bytesField(r.key),
    bytesField(r.value ?? null),
    varint(r.headers?.length ?? 0),
    ...(r.headers ?? []).flatMap(([k, v]) => [bytesField(k), bytesField(v)]),
  ]);
  return Buffer.concat([varint(body.length), body]);
}

/** One record batch (magic 2) laid out as the protocol documentation describes it. */
export function batch(o: { baseOffset: number; records: R[]; lastOffsetDelta?: number; baseTimestamp?: number; producerId?: number; transactional?: boolean; control?: boolean; gzip?: boolean; badCrc?: boolean }): Buffer {
  let records = Buffer.concat(o.records.map(record));
  if (o.gzip) records = gzipSync(records);
  const attributes = (o.gzip ? 1 : 0) | (o.transactional ? 0x10 : 0) | (o.control ? 0x20 : 0);
  const afterCrc = Buffer.alloc(40);
  afterCrc.writeInt16BE(attributes, 0);
  afterCrc.writeInt32BE(o.lastOffsetDelta ?? Math.max(0, ...o.records.map((r) => r.offsetDelta)), 2);
  afterCrc.writeBigInt64BE(BigInt(o.baseTimestamp ?? 1_700_000_000_000), 6);
  afterCrc.writeBigInt64BE(BigInt(o.baseTimestamp ?? 1_700_000_000_000), 14);
  afterCrc.writeBigInt64BE(BigInt(o.producerId ?? -1), 22);
  afterCrc.writeInt16BE(0, 30);
  afterCrc.writeInt32BE(-1, 32);
  afterCrc.writeInt32BE(o.records.length, 36);
  const crcPart = Buffer.concat([afterCrc, records]);
  const head = Buffer.alloc(21);
  head.writeBigInt64BE(BigInt(o.baseOffset), 0);
  head.writeInt32BE(9 + crcPart.length, 8); // leader epoch 4 + magic 1 + crc 4, then the CRC-covered part
  head.writeInt32BE(0, 12);
  head.writeInt8(2, 16);
  head.writeUInt32BE((crc32c(crcPart) + (o.badCrc ? 1 : 0)) >>> 0, 17);
  return Buffer.concat([head, crcPart]);
}

/** A record set in shared memory, as the fetch hook hands it over. */
export function sharedRecordSet(...batches: Buffer[]): Uint8Array {
  const all = Buffer.concat(batches);
  const shared = Buffer.from(new SharedArrayBuffer(all.length));
  all.copy(shared);
  return shared;
}
