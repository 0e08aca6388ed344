/**
 * The compression codecs of Kafka's record batches, as plain functions on
 * bytes, usable on any thread (src/kafka/codecs.ts lends them to kafkajs on
 * the main thread; the worker-side record-set decoder calls
 * `decompressRecords`). Why these libraries: see src/kafka/codecs.ts.
 */
import * as zlib from 'node:zlib';
import { gunzipSync } from 'node:zlib';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from 'snappy';
import { decompress as zstdDecompress } from 'fzstd';
import { BatchCorruptError } from '../errors.ts';

/** snappy-java's stream header: magic (8 bytes), version and compatible version (int32 each). */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

/** Snappy as Kafka clients write it: xerial-framed blocks (the Java client) or one raw block. */
export function snappyDecompress(buffer: Buffer): Buffer {
  if (buffer.length < XERIAL_HEADER_BYTES || !buffer.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) return asBuffer(snappyUncompress(buffer));
  const blocks: Buffer[] = [];
  let at = XERIAL_HEADER_BYTES;
  while (at < buffer.length) {
    if (at + 4 > buffer.length) throw new BatchCorruptError(`snappy: a block length is cut off at byte ${at} of ${buffer.length}`);
    const size = buffer.readInt32BE(at);
    at += 4;
    if (size < 0 || at + size > buffer.length) throw new BatchCorruptError(`snappy: a block of ${size} bytes at byte ${at} runs past the ${buffer.length}-byte batch`);
    blocks.push(asBuffer(snappyUncompress(buffer.subarray(at, at + size))));
    at += size;
  }
  return Buffer.concat(blocks);
}

/** Xerial framing, one block: what the Java client writes and reads (so any Kafka client can read it). */
export function snappyCompressFramed(buffer: Buffer): Buffer {
  const block = snappyCompress(buffer);
  const header = Buffer.alloc(XERIAL_HEADER_BYTES + 4);
  XERIAL_MAGIC.copy(header);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  header.writeInt32BE(block.length, 16);
  return Buffer.concat([header, block]);
}

function asBuffer(b: Buffer | string | Uint8Array): Buffer {
  if (Buffer.isBuffer(b)) return b;
  if (typeof b === 'string') return Buffer.from(b);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export function lz4Compress(b: Buffer): Buffer {
  return compressFrameSync(b);
}

export function lz4Decompress(b: Buffer): Buffer {
  return decompressFrameSync(b);
}

/**
 * The output chunk for zlib's sync decompression (gzip, and zstd on Node ≥ 22.15). zlib writes its
 * output into chunks of `chunkSize` (16 KiB by default) and joins them at the end: a 420 KiB
 * batch (what the Java producer writes with a 1 MiB batch.size) was 27 allocations plus a copy of
 * all of it. One chunk that fits decompressed a 316 KiB zstd batch 26 % faster on Node 24 (750 →
 * 555 µs). The size is guessed from the codec's last ratio on this thread, 1/8 over; a guess too
 * small only means more chunks. A single chunk comes back as a slice of its allocation, which
 * the records' views (and a carried batch) keep alive whole: where the guess was far too large
 * (another topic's ratio), the output is copied to its size (see fitted).
 */
const lastRatio = new Map<'gzip' | 'zstd', number>();
/** Node's own default: small batches allocate as before. */
const MIN_CHUNK = 16 * 1024;
const MAX_CHUNK = 64 * 2 ** 20;
/** Spare room in a decompressed batch's allocation that is not worth a copy to drop. */
const SPARE_BYTES = 64 * 1024;

function zlibOptions(codec: 'gzip' | 'zstd', input: Buffer): zlib.ZlibOptions {
  const ratio = lastRatio.get(codec) ?? 4;
  return { chunkSize: Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, Math.ceil(input.length * ratio * 1.125))) };
}

function remember(codec: 'gzip' | 'zstd', input: Buffer, output: Buffer): Buffer {
  if (input.length > 0) lastRatio.set(codec, Math.max(1, output.length / input.length));
  return fitted(output);
}

/** The output alone when its allocation is much larger (over SPARE_BYTES and a quarter more): else views would pin the rest. */
export function fitted(output: Buffer): Buffer {
  const spare = output.buffer.byteLength - output.length;
  return spare > SPARE_BYTES && spare > output.length / 4 ? Buffer.from(output) : output;
}

function gunzipBytes(b: Buffer): Buffer {
  return remember('gzip', b, gunzipSync(b, zlibOptions('gzip', b)));
}

/** Node's own zstd (zlib, Node ≥ 22.15 and 23.8): native, several times faster than fzstd; absent on Node 20. */
const nativeZstd = (zlib as { zstdDecompressSync?: (b: Buffer, options?: zlib.ZlibOptions) => Buffer }).zstdDecompressSync;

export function zstdDecompressBytes(b: Buffer): Buffer {
  return nativeZstd ? remember('zstd', b, nativeZstd(b, zlibOptions('zstd', b))) : asBuffer(zstdDecompress(b));
}

/** Codec ids of a record batch's attributes (bits 0-2). */
const NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

/** Decompresses a record batch's records by the codec id in its attributes; BATCH_CORRUPT when they do not decompress. */
export function decompressRecords(codec: number, bytes: Buffer): Buffer {
  const name = NAMES[codec] ?? `codec ${codec}`;
  try {
    switch (codec) {
      case 1:
        return gunzipBytes(bytes);
      case 2:
        return snappyDecompress(bytes);
      case 3:
        return lz4Decompress(bytes);
      case 4:
        return zstdDecompressBytes(bytes);
      default:
        throw new BatchCorruptError(`record batch: unknown compression ${name}`);
    }
  } catch (err) {
    if (err instanceof BatchCorruptError) throw err;
    throw new BatchCorruptError(`${name}: a compressed record batch could not be decompressed: ${(err as Error)?.message ?? String(err)}`);
  }
}
