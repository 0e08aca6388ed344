/**
 * The codecs Partita adds to kafkajs, on their own: snappy in both of the
 * framings Kafka clients write, lz4 frames, zstd frames, and corrupt input
 * failing with BATCH_CORRUPT (not a library's bare message). Reading what
 * Kafka's Java producer writes is the integration test compressed-topics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import { gzipSync } from 'node:zlib';
import { compressSync } from 'snappy';
import { decompressRecords } from '../../src/protocol/compression.ts';
import { codecs, installCodecs, snappyCompressFramed, snappyDecompress } from '../../src/kafka/codecs.ts';

/** Node ≥ 22.15 compresses zstd itself (the Node 20 path, fzstd, only decompresses). */
const zstdCompressSync = (zlib as { zstdCompressSync?: (b: Buffer) => Buffer }).zstdCompressSync;

const text = Buffer.from('{"id":1}{"id":2}{"id":3}'.repeat(500));

test('snappy: xerial-framed (Java client) and raw blocks both decompress; framed output reads back', async () => {
  assert.deepEqual(snappyDecompress(compressSync(text)), text);
  const framed = snappyCompressFramed(text);
  assert.equal(framed.subarray(0, 8).toString('latin1'), '\x82SNAPPY\x00');
  assert.deepEqual(await codecs.snappy.decompress(framed), text);
  // Two blocks, as snappy-java writes long inputs.
  const half = text.length / 2;
  const two = Buffer.concat([framed.subarray(0, 16), ...[text.subarray(0, half), text.subarray(half)].map((part) => {
    const block = compressSync(part);
    const len = Buffer.alloc(4);
    len.writeInt32BE(block.length);
    return Buffer.concat([len, block]);
  })]);
  assert.deepEqual(snappyDecompress(two), text);
});

test('lz4 frames round-trip', async () => {
  assert.deepEqual(await codecs.lz4.decompress(await codecs.lz4.compress({ buffer: text })), text);
});

test('zstd: a frame written without its content size (as streaming compressors do) decompresses', async () => {
  // zstd frame of "hello zstd\n" written by the zstd CLI from a pipe (no content size in the header).
  const frame = Buffer.from('KLUv/QRYWQAAaGVsbG8genN0ZApsV/lR', 'base64');
  assert.equal((await codecs.zstd.decompress(frame)).toString(), 'hello zstd\n');
});

test('gzip and zstd read whole whatever the ratio: the output chunk guessed from the last batch may be far too small or too large', () => {
  const random = randomBytes(300_000);
  const repetitive = Buffer.from('{"id":42,"status":"ok"}'.repeat(40_000)); // ~900 KB, compresses ~100×
  const cases: Array<[number, (b: Buffer) => Buffer]> = [[1, (b) => gzipSync(b)]];
  if (zstdCompressSync) cases.push([4, (b) => zstdCompressSync(b)]);
  for (const [codec, compress] of cases) {
    // Random (ratio ~1) after repetitive and the other way round, twice: every guess is wrong once.
    for (const input of [repetitive, random, repetitive, random, Buffer.alloc(0)]) {
      const out = decompressRecords(codec, compress(input));
      assert.ok(out.equals(input), `codec ${codec}, ${input.length} bytes`);
      // After the ~100× batch the guess for the random one is ~30 MiB: what comes back holds its own size, not the guess.
      assert.ok(out.buffer.byteLength <= Math.max(64 * 1024, out.length * 1.25) + 64 * 1024, `codec ${codec}: ${out.length} bytes in an allocation of ${out.buffer.byteLength}`);
    }
  }
});

test('corrupt compressed batches fail with BATCH_CORRUPT naming the codec', async () => {
  for (const name of ['snappy', 'lz4', 'zstd'] as const) {
    await assert.rejects(codecs[name].decompress(Buffer.from('definitely not compressed data')), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'BATCH_CORRUPT');
      assert.match(err.message, new RegExp(`^${name}:`));
      return true;
    });
  }
  const truncated = snappyCompressFramed(text).subarray(0, 30);
  await assert.rejects(codecs.snappy.decompress(truncated), { code: 'BATCH_CORRUPT' });
});

test('installCodecs puts them in kafkajs’s codec table', () => {
  installCodecs();
  const { CompressionCodecs, CompressionTypes } = kafkajs;
  assert.equal(CompressionCodecs[CompressionTypes.Snappy](), codecs.snappy);
  assert.equal(CompressionCodecs[CompressionTypes.LZ4](), codecs.lz4);
  assert.equal(CompressionCodecs[CompressionTypes.ZSTD](), codecs.zstd);
});
