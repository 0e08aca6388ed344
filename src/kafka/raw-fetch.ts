/**
 * The one hook into kafkajs's Fetch decoding (see docs/kafkajs-fetch-hook.md):
 * inside `rawFetches.run(...)`, a Fetch v11 response is decoded by Partita
 * instead of kafkajs. Each partition's record set is copied out whole (one
 * copy: the response buffer may also hold the next response) and kafkajs
 * gets one placeholder "message" per record batch — its last offset and
 * whether it is a control batch, which is all kafkajs's offset bookkeeping
 * reads — so the fetched-offset filter, lastOffset(), control-only batches
 * and partial trailing batches keep working, at O(batches) cost. Aborted
 * transactions are handed over with the bytes (kafkajs's own filter gets an
 * empty list): the worker-side decoder drops aborted records exactly.
 *
 * Outside the scope (admin clients, other consumers in the process) kafkajs
 * decodes as usual. Legacy message formats (magic 0/1) are left to kafkajs.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import type { RecordSlotRef } from '../protocol/records.ts';
import { acquireRecordSlot, releaseRecordSlot } from './record-slots.ts';
import { responseDecoded } from './response-scavenge.ts';

const require = createRequire(import.meta.url);

/** Where the raw record set of a partition hangs on its placeholder array. */
export const RAW_RECORDS: unique symbol = Symbol.for('partita.rawRecords');

export interface RawRecords {
  /** The partition's record set, copied out of the response into shared memory. */
  bytes: Buffer;
  /** The slot `bytes` lie in: released by whoever drops the record set. */
  slot: RecordSlotRef;
  highWatermark: number;
  lastStableOffset: number;
  /** read_committed: the transactions aborted in this range. */
  abortedTransactions: Array<{ producerId: bigint; firstOffset: number }>;
}

/** A record batch as kafkajs's bookkeeping sees it. */
export interface BatchPlaceholder {
  offset: string;
  isControlRecord: boolean;
  /** Records in the batch (for counts; not decoded). */
  count: number;
}

type FetchResponseModule = { decode: (payload: Buffer) => Promise<unknown> };

/** Fetches started inside `rawFetches.run(true, …)` are decoded here. */
export const rawFetches = new AsyncLocalStorage<boolean>();

const MAGIC_OFFSET = 16;
const LOG_OVERHEAD = 12;
const BATCH_HEADER_BYTES = 61;
const CONTROL = 0x20;

class Reader {
  at = 0;
  constructor(readonly buf: Buffer) {}
  i16(): number {
    const v = this.buf.readInt16BE(this.at);
    this.at += 2;
    return v;
  }
  i32(): number {
    const v = this.buf.readInt32BE(this.at);
    this.at += 4;
    return v;
  }
  i64(): bigint {
    const v = this.buf.readBigInt64BE(this.at);
    this.at += 8;
    return v;
  }
  str(): string {
    const n = this.i16();
    const v = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return v;
  }
}

/** Placeholders for the complete v2 batches of a record set; null when it holds a legacy format. */
function placeholders(bytes: Buffer): BatchPlaceholder[] | null {
  const out: BatchPlaceholder[] = [];
  for (let at = 0; at + BATCH_HEADER_BYTES <= bytes.length; ) {
    const end = at + LOG_OVERHEAD + bytes.readInt32BE(at + 8);
    if (end > bytes.length) break; // cut short by the fetch size: kafkajs fetches it again from its offset
    if (bytes.readInt8(at + MAGIC_OFFSET) !== 2) return null;
    const base = bytes.readBigInt64BE(at);
    out.push({ offset: String(base + BigInt(bytes.readInt32BE(at + 23))), isControlRecord: (bytes.readInt16BE(at + 21) & CONTROL) !== 0, count: bytes.readInt32BE(at + 57) });
    at = end;
  }
  return out;
}

/** Our decoding of a Fetch v11 response, in the shape kafkajs's parse and consumer expect; null to let kafkajs decode it. */
function decodeFetchV11(payload: Buffer): unknown {
  const taken: RecordSlotRef[] = [];
  let decoded: unknown = null;
  try {
    decoded = decodeInto(payload, taken);
    if (decoded !== null) responseDecoded(payload.length);
    return decoded;
  } finally {
    // Left to kafkajs after all (or unreadable): the record sets copied so far are not used.
    if (decoded === null) for (const slot of taken) releaseRecordSlot(slot);
  }
}

function decodeInto(payload: Buffer, taken: RecordSlotRef[]): unknown {
  const r = new Reader(payload);
  const clientSideThrottleTime = r.i32();
  const errorCode = r.i16();
  const sessionId = r.i32();
  const responses = [];
  for (let t = r.i32(); t > 0; t--) {
    const topicName = r.str();
    const partitions = [];
    for (let p = r.i32(); p > 0; p--) {
      const partition = r.i32();
      const partitionError = r.i16();
      const highWatermark = r.i64();
      const lastStableOffset = r.i64();
      const logStartOffset = r.i64();
      const abortedTransactions: RawRecords['abortedTransactions'] = [];
      for (let a = r.i32(); a > 0; a--) abortedTransactions.push({ producerId: r.i64(), firstOffset: Number(r.i64()) });
      const preferredReadReplica = r.i32();
      const size = r.i32();
      let messages: BatchPlaceholder[] = [];
      if (size > 0 && r.at + size <= payload.length) {
        // Shared memory, in a reused slot (see record-slots.ts): the main thread keeps it for retries
        // and dead letters, and handing it to a thread copies nothing.
        const { bytes, slot } = acquireRecordSlot(size);
        taken.push(slot);
        payload.copy(bytes, 0, r.at, r.at + size);
        r.at += size;
        const found = placeholders(bytes);
        if (found === null) return null;
        messages = found;
        Object.defineProperty(messages, RAW_RECORDS, { value: { bytes, slot, highWatermark: Number(highWatermark), lastStableOffset: Number(lastStableOffset), abortedTransactions } satisfies RawRecords });
      } else if (size > 0) return null; // a record set longer than the response: let kafkajs say what it makes of it
      partitions.push({
        partition,
        errorCode: partitionError,
        highWatermark: String(highWatermark),
        lastStableOffset: String(lastStableOffset),
        lastStartOffset: String(logStartOffset),
        abortedTransactions: [],
        preferredReadReplica,
        messages,
      });
    }
    responses.push({ topicName, partitions });
  }
  return { throttleTime: 0, clientSideThrottleTime, errorCode, sessionId, responses };
}

let installed = false;

/** Puts the hook in place (once): inside `rawFetches`, Fetch v11 responses are decoded by decodeFetchV11. */
export function installRawFetch(): void {
  if (installed) return;
  installed = true;
  const mod = require('kafkajs/src/protocol/requests/fetch/v11/response.js') as FetchResponseModule;
  const original = mod.decode;
  mod.decode = async (payload: Buffer) => (rawFetches.getStore() === true ? (decodeFetchV11(payload) ?? original(payload)) : original(payload));
}

/** The raw record set behind a kafkajs batch's messages, when its fetch ran inside `rawFetches`. */
export function rawRecordsOf(messages: unknown[]): RawRecords | undefined {
  return (messages as { [RAW_RECORDS]?: RawRecords })[RAW_RECORDS];
}
