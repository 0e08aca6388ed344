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
 *    setting). On Node 22.15+ (and 23.8+) zstd is decompressed by Node's own
 *    zlib instead (native); fzstd remains the Node 20 path.
 */
import kafkajs from 'kafkajs';
import { BatchCorruptError } from '../errors.ts';
import { lz4Compress, lz4Decompress, snappyCompressFramed, snappyDecompress, zstdDecompressBytes } from '../protocol/compression.ts';

const { CompressionCodecs, CompressionTypes } = kafkajs;

/** What kafkajs calls on a codec: `compress` gets its Encoder, `decompress` the compressed records. */
interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
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

export { snappyCompressFramed, snappyDecompress };

export const codecs = {
  snappy: codec('snappy', snappyCompressFramed, snappyDecompress),
  lz4: codec('lz4', lz4Compress, lz4Decompress),
  zstd: codec(
    'zstd',
    () => {
      throw new BatchCorruptError('zstd: producing zstd-compressed batches is not supported (Partita reads zstd topics)');
    },
    zstdDecompressBytes,
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
