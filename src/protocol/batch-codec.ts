/**
 * The column-wise form of one topic-partition batch: what the batch source builds
 * from a kafkajs batch, what crosses the thread boundary (packed with msgpackr
 * into one transferable buffer) and what `Messages` reads lazily.
 * Columns instead of one object per message: fewer allocations on the main
 * thread and a smaller encoding.
 */
import { Packr } from 'msgpackr';
import { BatchCorruptError } from '../errors.ts';

export type HeaderValue = Buffer | string | Array<Buffer | string>;
export type Headers = Record<string, HeaderValue | undefined>;

export interface RawBatch {
  topic: string;
  partition: number;
  /** Partition's high watermark when fetched (next offset to be written). */
  highWatermark: number;
  offsets: number[];
  /** Message timestamps, ms since epoch. */
  timestamps: number[];
  keys: Array<Buffer | null>;
  values: Array<Buffer | null>;
  /** `null` for the (common) message without headers. */
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

export function emptyRawBatch(topic: string, partition: number, highWatermark: number): RawBatch {
  return { topic, partition, highWatermark, offsets: [], timestamps: [], keys: [], values: [], headers: [] };
}

export function appendMessage(batch: RawBatch, m: KafkajsMessageLike): void {
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

/** The given rows of `raw` (in that order), every column kept in step. */
export function pickRows(raw: RawBatch, rows: number[]): RawBatch {
  const pick = <T>(col: T[]) => rows.map((i) => col[i]!);
  return { ...raw, offsets: pick(raw.offsets), timestamps: pick(raw.timestamps), keys: pick(raw.keys), values: pick(raw.values), headers: pick(raw.headers) };
}

// One Packr per thread; structured records off so the encoding is self-contained per buffer.
const packr = new Packr({ useRecords: false, moreTypes: false });

/**
 * Packs a batch into a buffer that owns its whole ArrayBuffer, so it can be
 * transferred: msgpackr returns views into a reused internal buffer, which
 * must never be transferred (it would be detached under msgpackr's feet).
 */
export function packBatch(batch: RawBatch): Uint8Array<ArrayBuffer> {
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

export function unpackBatch(packed: Uint8Array): RawBatch {
  const b = packr.unpack(packed) as RawBatch;
  // msgpackr yields Uint8Array or Buffer depending on build; Messages promise Buffers.
  for (let i = 0; i < b.offsets.length; i++) {
    b.keys[i] = asBuffer(b.keys[i]);
    b.values[i] = asBuffer(b.values[i]);
  }
  return b;
}
