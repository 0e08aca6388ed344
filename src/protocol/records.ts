/**
 * A partition's fetched records as the main thread holds them and as they
 * cross to a worker thread, and the one function that reads a window of
 * them (the worker for every batch, the main thread only on the failure
 * path and for dead letters).
 *
 * The main thread never decodes records on the hot path: a record set stays
 * the bytes the broker sent (in a reused shared slot, so handing it to a
 * thread copies nothing and retries re-read the same bytes; the reader copies
 * them out for itself, see takeBytes), and a queued batch is a window
 * [from, to) over it. Only where kafkajs decoded a fetch itself (a
 * legacy message format, or a fetch outside the hook) do decoded columns
 * travel, packed with msgpackr.
 */
import type { ArrayBatch, RawBatch } from './batch-codec.ts';
import { packBatch, pickRows, unpackBatch } from './batch-codec.ts';
import { BatchCorruptError } from '../errors.ts';
import { decompressRecords } from './compression.ts';
import { decodeRecordSet, windowBytes, type AbortedTransaction, type BatchCarry } from './record-set.ts';

/** The bytes of one partition's Fetch response: record batches as the broker stored them. */
export interface RawRecordSet {
  kind: 'raw';
  topic: string;
  partition: number;
  highWatermark: number;
  /** Backed by a SharedArrayBuffer (see src/kafka/raw-fetch.ts and src/kafka/record-slots.ts). */
  bytes: Uint8Array;
  /** read_committed: the transactions aborted in this range (their records are dropped). */
  aborted: AbortedTransaction[];
  /** Set when `bytes` lie in a reused slot (src/kafka/record-slots.ts): readers copy them out first (takeBytes). */
  slot?: RecordSlotRef;
}

/** Which use of a reusable shared slot a record set's bytes are: valid while the slot's generation is `gen`. */
export interface RecordSlotRef {
  /** The slot's generation, shared by every thread (index 0). */
  ctl: Int32Array;
  gen: number;
}

/** Records kafkajs decoded itself, column-wise (main thread). */
export interface DecodedRecordSet {
  kind: 'decoded';
  raw: ArrayBatch;
}

/** The wire form of DecodedRecordSet: one transferable msgpackr buffer. */
export interface PackedRecordSet {
  kind: 'packed';
  packed: Uint8Array;
}

/** What the main thread queues. */
export type FetchedRecords = RawRecordSet | DecodedRecordSet;
/** What a batch task carries. */
export type WireRecords = RawRecordSet | PackedRecordSet;

/** The part of a record set one batch covers. */
export interface RecordWindow {
  /** First offset (inclusive); records below it belong to earlier batches. */
  from: number;
  /** End (exclusive). */
  to: number;
  /** Take at most this many records; the rest of the window is another batch. */
  max: number;
  /** Offsets not to deliver (dead-lettered, read again). */
  skip: number[];
}

export interface WindowRead {
  /** The records of the window a consumer gets. */
  raw: RawBatch;
  /** Where the window's unread rest starts: `to` when all of it was taken. */
  endOffset: number;
  /** The compressed batch the window stopped inside, for the partition's next window (see BatchCarry). */
  carry?: BatchCarry | undefined;
}

/** The form a record set crosses to a thread in: raw bytes as they are (shared), decoded columns packed (to transfer). */
export function recordsToWire(records: FetchedRecords): WireRecords {
  return records.kind === 'raw' ? records : { kind: 'packed', packed: packBatch(records.raw) };
}

/**
 * The record set's bytes for reading `window`. Bytes in a reused slot are
 * copied out (consume() gets Buffer views on them and may keep them past the
 * batch), then the slot's generation is checked: a slot released and reused
 * while this copy ran would otherwise be read as these records. Where every
 * batch the window reaches is compressed, no view will point into them, so
 * they are read in place (`inPlace`): the caller checks the generation after
 * decoding instead (checkSlot), as it would after a copy.
 */
export function takeBytes(records: RawRecordSet, window: RecordWindow): { buf: Buffer; inPlace: boolean } {
  const { bytes, slot } = records;
  const all = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!slot) return { buf: all, inPlace: false };
  // Only the batches this window can reach: one fetch is many windows (maxMessages), and
  // copying the whole set for each made the copies grow with the square of the set.
  // Read before the generation check below, like the copy, so a reuse meanwhile is caught.
  const { start, end, compressedOnly } = windowBytes(all, window.from, window.to, records.aborted.length === 0);
  if (compressedOnly) return { buf: all.subarray(start, end), inPlace: true };
  const copy = Buffer.allocUnsafeSlow(end - start);
  all.copy(copy, 0, start, end);
  checkSlot(records);
  return { buf: copy, inPlace: false };
}

/** Throws when the record set's slot was released since it was handed over (its bytes may be another fetch's by now). */
function checkSlot(records: RawRecordSet): void {
  const { slot } = records;
  if (slot && Atomics.load(slot.ctl, 0) !== slot.gen) {
    throw new BatchCorruptError(`records of ${records.topic}/${records.partition} were released before this thread read them (their batch is no longer pending); they are fetched again`);
  }
}

/**
 * Reads the window's records: decodes (and checks) only the record batches it covers. `carried`:
 * the compressed batch the partition's previous window stopped inside (see BatchCarry).
 */
export function readWindow(records: FetchedRecords | WireRecords, window: RecordWindow, checkCrcs: boolean, carried?: BatchCarry): WindowRead {
  const skip = window.skip.length > 0 ? new Set(window.skip) : undefined;
  if (records.kind === 'raw') {
    const { buf, inPlace } = takeBytes(records, window);
    let d;
    try {
      d = decodeRecordSet(buf, { fetchOffset: window.from, untilOffset: window.to, maxRecords: window.max, skip, checkCrcs, abortedTransactions: records.aborted, decompress: decompressRecords, carried });
    } catch (err) {
      // Bytes read in place that no longer are this record set: say that, not what they failed as.
      if (inPlace) checkSlot(records);
      throw err;
    }
    if (inPlace) checkSlot(records);
    const raw: RawBatch = { topic: records.topic, partition: records.partition, highWatermark: records.highWatermark, offsets: d.offsets, timestamps: d.timestamps, keys: d.keys, values: d.values, headers: d.headers };
    return { raw, endOffset: d.stoppedAt ?? window.to, ...(d.carry ? { carry: d.carry } : {}) };
  }
  const all = records.kind === 'decoded' ? records.raw : unpackBatch(records.packed);
  const rows: number[] = [];
  let endOffset = window.to;
  for (let i = 0; i < all.offsets.length; i++) {
    const o = all.offsets[i]!;
    if (o < window.from || skip?.has(o)) continue;
    if (o >= window.to) break;
    if (rows.length >= window.max) {
      endOffset = o;
      break;
    }
    rows.push(i);
  }
  return { raw: pickRows(all, rows), endOffset };
}
