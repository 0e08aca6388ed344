/**
 * The column-wise form of one topic-partition batch: what the batch source builds
 * from a kafkajs batch, what crosses the thread boundary (packed with msgpackr
 * into one transferable buffer) and what `Messages` reads lazily.
 * Columns instead of one object per message: fewer allocations on the main
 * thread and a smaller encoding.
 */
import { Packr } from 'msgpackr';
import { BatchCorruptError } from '../errors.ts';
import { SpanColumn, type Column, type Headers } from './columns.ts';

export type { Column, HeaderValue, Headers } from './columns.ts';

export interface RawBatch {
  topic: string;
  partition: number;
  /** Partition's high watermark when fetched (next offset to be written). */
  highWatermark: number;
  offsets: number[];
  /** Message timestamps, ms since epoch. */
  timestamps: number[];
  keys: Column<Buffer | null>;
  values: Column<Buffer | null>;
  /** `null` for the (common) message without headers. */
  headers: Column<Headers | null>;
}

/** A RawBatch whose columns are arrays: what kafkajs's messages become, and what msgpackr packs. */
export interface ArrayBatch extends RawBatch {
  keys: Array<Buffer | null>;
  values: Array<Buffer | null>;
  headers: Array<Headers | null>;
}

/** The subset of a kafkajs message the batch source reads. */
export interface KafkajsMessageLike {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | string | Array<Buffer | string> | undefined>;
}

export function emptyRawBatch(topic: string, partition: number, highWatermark: number): ArrayBatch {
  return { topic, partition, highWatermark, offsets: [], timestamps: [], keys: [], values: [], headers: [] };
}

export function appendMessage(batch: ArrayBatch, m: KafkajsMessageLike): void {
  batch.offsets.push(Number(m.offset));
  batch.timestamps.push(Number(m.timestamp));
  batch.keys.push(m.key);
  batch.values.push(m.value);
  let headers: Headers | null = null;
  if (m.headers) {
    for (const name in m.headers) {
      headers = m.headers as Headers;
      break;
    }
  }
  batch.headers.push(headers);
}

/** The given rows of `raw` (in that order), every column kept in step (span columns stay lazy). */
export function pickRows(raw: RawBatch, rows: number[]): RawBatch {
  const pick = <T>(col: Column<T>) => rows.map((i) => col.at(i)!);
  const { keys, values, headers } = raw;
  if (keys instanceof SpanColumn && values instanceof SpanColumn && headers instanceof SpanColumn && keys.spans === values.spans && keys.spans === headers.spans) {
    const spans = keys.spans.pick(rows);
    return { ...raw, offsets: pick(raw.offsets), timestamps: pick(raw.timestamps), keys: new SpanColumn(spans, 'key'), values: new SpanColumn(spans, 'value'), headers: new SpanColumn(spans, 'headers') };
  }
  return { ...raw, offsets: pick(raw.offsets), timestamps: pick(raw.timestamps), keys: pick(keys), values: pick(values), headers: pick(headers) };
}

// One Packr per thread; structured records off so the encoding is self-contained per buffer.
const packr = new Packr({ useRecords: false, moreTypes: false });

/**
 * Packs a batch into a buffer that owns its whole ArrayBuffer, so it can be
 * transferred: msgpackr returns views into a reused internal buffer, which
 * must never be transferred (it would be detached under msgpackr's feet).
 */
export function packBatch(batch: ArrayBatch): Uint8Array<ArrayBuffer> {
  const view = packr.pack(batch);
  const owned = new Uint8Array(new ArrayBuffer(view.byteLength));
  owned.set(view);
  return owned;
}

function asBuffer(v: unknown): Buffer | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new BatchCorruptError(`a packed batch holds ${typeof v} where bytes belong`);
}

export function unpackBatch(packed: Uint8Array): ArrayBatch {
  const b = packr.unpack(packed) as ArrayBatch;
  // msgpackr yields Uint8Array or Buffer depending on build; Messages promise Buffers.
  for (let i = 0; i < b.offsets.length; i++) {
    b.keys[i] = asBuffer(b.keys[i]);
    b.values[i] = asBuffer(b.values[i]);
  }
  return b;
}
