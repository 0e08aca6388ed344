/**
 * Decoding a partition's record set as a Fetch response carries it: a run of
 * record batches (message format v2, magic 2) as the broker stored them,
 * possibly ending in a batch cut short by the fetch size. Written from the
 * Kafka protocol documentation ("Record Batch"), for the worker threads: the
 * main thread only moves these bytes (see docs/kafkajs-fetch-hook.md).
 *
 * What a consumer must not see is dropped here, as the Java client does:
 * records below the fetch offset (a batch is fetched whole), control batches
 * (transaction markers), and under read_committed the records of aborted
 * transactions. CRC-32C of every batch is checked by default, like the Java
 * client's `check.crcs=true`. Offsets and timestamps become numbers: exact
 * below 2^53 (offsets of 9 quadrillion; no real log gets there), checked.
 */
import { crc32c } from '@node-rs/crc32';
import { BatchCorruptError } from '../errors.ts';
import { RecordSpans, SpanColumn, type Headers } from './columns.ts';
import { exact, Reader } from './varint-reader.ts';

/** Bytes before a batch's records: baseOffset … recordsCount. */
const BATCH_HEADER_BYTES = 61;
/** baseOffset (8) + batchLength (4): a batch's total size is this plus batchLength. */
const LOG_OVERHEAD = 12;
/** Where the CRC-covered part starts (attributes). */
const CRC_START = 21;
const MAGIC_OFFSET = 16;

const COMPRESSION_MASK = 0x07;
const TIMESTAMP_TYPE_LOG_APPEND = 0x08;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;

export type Decompress = (codec: number, bytes: Buffer) => Buffer;

/**
 * A compressed batch that a window stopped inside (maxRecords), kept
 * decompressed for the next window of the same partition, which starts
 * where this one stopped. Without it every window re-decompresses the batch
 * it starts in: a zstd batch of 10,000 small records read 1,000 at a time
 * (maxMessages' default) was decompressed ten times. Matched by the batch's
 * base offset, length and stored CRC (the batch itself, not a look-alike),
 * and only for a window from `from` on: a retry, which starts lower, reads
 * the batch afresh (consume() may have written into the views it got).
 */
export interface BatchCarry {
  baseOffset: number;
  batchLength: number;
  crc: number;
  /** The decompressed records. */
  records: Buffer;
  /** Where the window that kept it stopped: the next window's first offset. */
  from: number;
}


export interface AbortedTransaction {
  producerId: bigint;
  firstOffset: number;
}

export interface DecodeOptions {
  /** Records below it are dropped (the fetch started inside a batch). */
  fetchOffset: number;
  /** Check each batch's CRC-32C (the Java client's default). */
  checkCrcs: boolean;
  /** read_committed: drop records of these aborted transactions (read_uncommitted: pass none). */
  abortedTransactions: AbortedTransaction[];
  /** Decompresses a batch's records (codec: 1 gzip, 2 snappy, 3 lz4, 4 zstd). */
  decompress: Decompress;
  /** Records at or above it are not taken, and batches starting there are not read (default: all). */
  untilOffset?: number | undefined;
  /** Take at most this many records (default: all); `stoppedAt` says where the rest starts. */
  maxRecords?: number | undefined;
  /** Offsets not to take (dead-lettered messages read again). */
  skip?: ReadonlySet<number> | undefined;
  /** The batch the partition's previous window stopped inside (used where it matches). */
  carried?: BatchCarry | undefined;
}

/** The records a consumer sees, column-wise, plus where the next fetch starts. */
export interface DecodedRecords {
  offsets: number[];
  timestamps: number[];
  keys: SpanColumn<Buffer | null>;
  values: SpanColumn<Buffer | null>;
  headers: SpanColumn<Headers | null>;
  /** The offset after the last complete batch (control and aborted ones included): the next fetch offset. Null when no batch was complete. */
  nextOffset: number | null;
  /** Complete batches read (a trailing partial batch is not counted). */
  batches: number;
  /** The offset of the first record left out because `maxRecords` were taken; null when none was. */
  stoppedAt: number | null;
  /** The compressed batch this window stopped inside, for the next window (null when it stopped elsewhere). */
  carry: BatchCarry | null;
}

/**
 * The bytes of `buf` that decoding the window [fromOffset, untilOffset) can
 * reach, at batch boundaries, so a reader copies those instead of the whole
 * record set (maxMessages cuts one fetch into many windows). Batches from
 * untilOffset on are never read; batches wholly below fromOffset are skipped
 * only when `skipBelow` (not with aborted transactions: their markers are
 * read wherever they are). Anything unexpected stops the trimming there and
 * leaves it to decodeRecordSet to report.
 *
 * `compressedOnly`: every batch in [start, end) is compressed (or a control
 * batch, which gives a consumer nothing; a trailing partial batch is never
 * read). No record a consumer gets is then a view on these bytes, since
 * decompression makes bytes of its own, and a reader may decode them where
 * they lie instead of copying them first.
 */
export function windowBytes(buf: Buffer, fromOffset: number, untilOffset: number, skipBelow: boolean): { start: number; end: number; compressedOnly: boolean } {
  let start = 0;
  let at = 0;
  let compressedOnly = true;
  while (at + BATCH_HEADER_BYTES <= buf.length) {
    const baseOffset = Number(buf.readBigInt64BE(at));
    const end = at + LOG_OVERHEAD + buf.readInt32BE(at + 8);
    if (end > buf.length && end >= at + BATCH_HEADER_BYTES && buf.readInt8(at + MAGIC_OFFSET) === 2) break; // the partial trailing batch
    if (end < at + BATCH_HEADER_BYTES || end > buf.length || buf.readInt8(at + MAGIC_OFFSET) !== 2) return { start, end: buf.length, compressedOnly: false };
    if (baseOffset >= untilOffset) return { start, end: at, compressedOnly };
    if (skipBelow && start === at && baseOffset + buf.readInt32BE(at + 23) < fromOffset) start = end;
    else if ((buf.readInt16BE(at + 21) & (COMPRESSION_MASK | CONTROL)) === 0) compressedOnly = false;
    at = end;
  }
  return { start, end: buf.length, compressedOnly };
}

/**
 * Decodes a record set. A trailing batch cut short by the fetch size is
 * ignored (the next fetch starts at it); anything else that does not add up
 * fails with BATCH_CORRUPT.
 */
export function decodeRecordSet(buf: Buffer, opts: DecodeOptions): DecodedRecords {
  const spans = new RecordSpans();
  const out: DecodedRecords = { offsets: [], timestamps: [], keys: new SpanColumn(spans, 'key'), values: new SpanColumn(spans, 'value'), headers: new SpanColumn(spans, 'headers'), nextOffset: null, batches: 0, stoppedAt: null, carry: null };
  const until = opts.untilOffset ?? Number.MAX_SAFE_INTEGER;
  const max = opts.maxRecords ?? Number.MAX_SAFE_INTEGER;
  // Aborted transactions in offset order; a producer's records are dropped from its abort's first offset to its marker.
  const pending = [...opts.abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset);
  const aborting = new Set<bigint>();
  const carriedFrom = opts.carried;
  let at = 0;
  while (at + LOG_OVERHEAD <= buf.length) {
    const baseOffset = exact(buf.readBigInt64BE(at), 'base offset');
    const batchLength = buf.readInt32BE(at + 8);
    const end = at + LOG_OVERHEAD + batchLength;
    if (batchLength < BATCH_HEADER_BYTES - LOG_OVERHEAD) throw new BatchCorruptError(`record batch at offset ${baseOffset}: length ${batchLength} is shorter than a batch header`);
    if (end > buf.length) break; // cut short by the fetch size: fetched again next time
    const magic = buf.readInt8(at + MAGIC_OFFSET);
    if (magic !== 2) throw new BatchCorruptError(`record batch at offset ${baseOffset}: magic ${magic} (only message format v2 is read here)`);
    if (baseOffset >= until || out.stoppedAt !== null) break;
    const attributes = buf.readInt16BE(at + 21);
    const lastOffsetDelta = buf.readInt32BE(at + 23);
    const baseTimestamp = exact(buf.readBigInt64BE(at + 27), 'base timestamp');
    const maxTimestamp = exact(buf.readBigInt64BE(at + 35), 'max timestamp');
    const producerId = buf.readBigInt64BE(at + 43);
    const count = buf.readInt32BE(at + 57);
    const storedCrc = buf.readUInt32BE(at + 17);
    const carried = carriedFrom !== undefined && carriedFrom.baseOffset === baseOffset && carriedFrom.batchLength === batchLength && carriedFrom.crc === storedCrc && opts.fetchOffset >= carriedFrom.from ? carriedFrom : undefined;
    // Checked for every batch the window reaches (control batches too, as the Java client does);
    // batches wholly below it belong to an earlier window, which checked them, and so does a carried one.
    if (opts.checkCrcs && !carried && baseOffset + lastOffsetDelta >= opts.fetchOffset) {
      const actual = crc32c(buf.subarray(at + CRC_START, end)) >>> 0;
      if (actual !== storedCrc) throw new BatchCorruptError(`record batch at offset ${baseOffset}: CRC-32C ${actual.toString(16)} does not match the stored ${storedCrc.toString(16)}`);
    }
    out.batches += 1;
    out.nextOffset = baseOffset + lastOffsetDelta + 1;

    while (pending.length > 0 && pending[0]!.firstOffset <= baseOffset + lastOffsetDelta) aborting.add(pending.shift()!.producerId);
    const transactional = (attributes & TRANSACTIONAL) !== 0;
    if ((attributes & CONTROL) !== 0) {
      // A transaction marker: its producer's transaction is over (committed or aborted).
      if (transactional) aborting.delete(producerId);
      at = end;
      continue;
    }
    if ((transactional && aborting.has(producerId)) || baseOffset + lastOffsetDelta < opts.fetchOffset) {
      at = end;
      continue;
    }
    const codec = attributes & COMPRESSION_MASK;
    let records: Buffer = buf;
    let from = at + BATCH_HEADER_BYTES;
    let to = end;
    if (codec !== 0) {
      records = carried ? carried.records : opts.decompress(codec, buf.subarray(from, end));
      from = 0;
      to = records.length;
    }
    const logAppendTime = (attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0;
    const r = new Reader(records, from, to);
    for (let i = 0; i < count; i++) {
      const length = r.varint();
      const recordEnd = r.at + length;
      if (length < 0 || recordEnd > to) throw new BatchCorruptError(`record batch at offset ${baseOffset}: record ${i} of ${count} runs past the batch`);
      r.int8(); // record attributes: unused
      const timestampDelta = r.varlong();
      const offset = baseOffset + r.varint();
      const [keyAt, keyLength] = r.span();
      const [valueAt, valueLength] = r.span();
      const headersAt = r.at;
      const headerCount = r.varint();
      for (let h = 0; h < headerCount; h++) {
        r.span();
        r.span();
      }
      r.at = recordEnd;
      if (offset < opts.fetchOffset || offset >= until || opts.skip?.has(offset)) continue;
      if (out.offsets.length >= max) {
        out.stoppedAt = offset;
        if (codec !== 0) out.carry = { baseOffset, batchLength, crc: storedCrc, records, from: offset };
        break;
      }
      out.offsets.push(offset);
      out.timestamps.push(logAppendTime ? maxTimestamp : baseTimestamp + timestampDelta);
      spans.source.push(records);
      spans.keyAt.push(keyAt);
      spans.keyLength.push(keyLength);
      spans.valueAt.push(valueAt);
      spans.valueLength.push(valueLength);
      spans.headersAt.push(headerCount > 0 ? headersAt : -1);
    }
    at = end;
  }
  return out;
}
