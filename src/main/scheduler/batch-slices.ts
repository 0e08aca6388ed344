/**
 * Offset math on queued batches: splitting a fetch into batches of at most
 * maxMessages, the unprocessed rest of a failed batch, one batch per message
 * (isolation), and a batch without dead-lettered offsets. Each piece keeps
 * the share of the offset range it covers (gaps, filtered messages), so
 * marking a piece processed never skips an offset of another.
 */
import type { RawBatch } from '../../protocol/batch-codec.ts';

/** A batch waiting in its partition's queue. */
export interface QueuedBatch {
  raw: RawBatch;
  /** First offset this batch covers (previous batch's nextOffset, or its first message). */
  startOffset: number;
  nextOffset: number;
}

/** The batch without the given offsets (dead-lettered messages delivered again). */
export function withoutOffsets(raw: RawBatch, drop: Set<number>): RawBatch {
  const keep: number[] = [];
  raw.offsets.forEach((o, i) => {
    if (!drop.has(o)) keep.push(i);
  });
  return keep.length === raw.offsets.length ? raw : pickRows(raw, keep);
}

/** The batch in pieces of at most `max` messages, each covering its share of [startOffset, nextOffset). */
export function split(raw: RawBatch, startOffset: number, nextOffset: number, max: number): QueuedBatch[] {
  const n = raw.offsets.length;
  if (n <= max) return [{ raw, startOffset, nextOffset }];
  const out: QueuedBatch[] = [];
  let start = startOffset;
  for (let i = 0; i < n; i += max) {
    const last = i + max >= n;
    const end = last ? nextOffset : raw.offsets[i + max]!;
    out.push({ raw: slice(raw, i, Math.min(n, i + max)), startOffset: start, nextOffset: end });
    start = end;
  }
  return out;
}

/** One batch per message (isolation), each covering its share of the batch's offset range. */
export function isolate(batch: QueuedBatch): QueuedBatch[] {
  return split(batch.raw, batch.startOffset, batch.nextOffset, 1);
}

/** The part of a batch from `offset` on (what a failure left unprocessed). */
export function rowsFrom(batch: QueuedBatch, offset: number): QueuedBatch {
  if (offset <= batch.startOffset) return batch;
  const first = batch.raw.offsets.findIndex((o) => o >= offset);
  const raw = first < 0 ? slice(batch.raw, 0, 0) : slice(batch.raw, first, batch.raw.offsets.length);
  return { raw, startOffset: offset, nextOffset: batch.nextOffset };
}

/** Rows [from, to) of `raw`, every column kept in step. */
function slice(raw: RawBatch, from: number, to: number): RawBatch {
  return { ...raw, offsets: raw.offsets.slice(from, to), timestamps: raw.timestamps.slice(from, to), keys: raw.keys.slice(from, to), values: raw.values.slice(from, to), headers: raw.headers.slice(from, to) };
}

/** A batch of the given rows of `raw`, every column kept in step. */
export function pickRows(raw: RawBatch, rows: number[]): RawBatch {
  const pick = <T>(col: T[]) => rows.map((i) => col[i]!);
  return { ...raw, offsets: pick(raw.offsets), timestamps: pick(raw.timestamps), keys: pick(raw.keys), values: pick(raw.values), headers: pick(raw.headers) };
}

