/**
 * Compressed topics: kafkajs ships gzip only and throws "… compression not
 * implemented" on a snappy, lz4 or zstd record batch, which crashed the
 * consumer at the first such fetch (and again after every restart). This
 * module plugs the other three into kafkajs's codec table, for every client
 * in the process (kafkajs keeps one table), before any client exists.
 *
 * Libraries (decompression is what consuming needs; it runs where kafkajs
 * decodes the fetch response, the main thread, for now):
 *  - snappy: `snappy` (napi-rs bindings to the Rust snap crate, prebuilt per
 *    platform, no compiler at install). Kafka's Java producer writes snappy
 *    in snappy-java's "xerial" framing (a magic header, then length-prefixed
 *    blocks); other clients write one raw block. Both are read.
 *  - lz4: `lz4-napi` (napi-rs, prebuilt): Kafka writes the standard LZ4
 *    frame format (since message format v1 fixed the header checksum).
 *  - zstd: `fzstd`, pure JavaScript, decompression only. The native
 *    bindings available either compile zstd at install (zstd-napi: minutes,
 *    a C toolchain on every machine) or download prebuilds from outside the
 *    npm registry (@mongodb-js/zstd), which fresh machines here cannot.
 *    Producing zstd is not offered (Partita's producer has no compression
 *    setting); Node 22.15+ has zstd built in, worth switching to once 20 is
 *    dropped.
 */
import kafkajs from 'kafkajs';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from 'snappy';
import { decompress as zstdDecompress } from 'fzstd';
import { BatchCorruptError } from '../errors.ts';

const { CompressionCodecs, CompressionTypes } = kafkajs;

/** What kafkajs calls on a codec: `compress` gets its Encoder, `decompress` the compressed records. */
interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

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

/** A codec whose failures name the codec (kafkajs would report a bare library message). */
function codec(name: string, compress: (b: Buffer) => Buffer, decompress: (b: Buffer) => Buffer): Codec {
  return {
    async compress(encoder) {
      return compress(encoder.buffer);
    },
    async decompress(buffer) {
      try {
        return decompress(buffer);
      } catch (err) {
        if (err instanceof BatchCorruptError) throw err;
        throw new BatchCorruptError(`${name}: a compressed record batch could not be decompressed: ${(err as Error)?.message ?? String(err)}`);
      }
    },
  };
}

export const codecs = {
  snappy: codec('snappy', snappyCompressFramed, snappyDecompress),
  lz4: codec('lz4', (b) => compressFrameSync(b), (b) => decompressFrameSync(b)),
  zstd: codec(
    'zstd',
    () => {
      throw new BatchCorruptError('zstd: producing zstd-compressed batches is not supported (Partita reads zstd topics)');
    },
    (b) => asBuffer(zstdDecompress(b)),
  ),
} as const;

let installed = false;

/** Registers snappy, lz4 and zstd with kafkajs (once per process; every client uses them). */
export function installCodecs(): void {
  if (installed) return;
  installed = true;
  CompressionCodecs[CompressionTypes.Snappy] = () => codecs.snappy;
  CompressionCodecs[CompressionTypes.LZ4] = () => codecs.lz4;
  CompressionCodecs[CompressionTypes.ZSTD] = () => codecs.zstd;
}
