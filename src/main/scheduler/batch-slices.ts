/**
 * Offset math on queued batches. A queued batch is a window [startOffset,
 * nextOffset) over a partition's fetched records: splitting it (maxMessages,
 * one message at a time during isolation, the unprocessed rest of a failed
 * one) only moves its bounds; the records are read where the batch runs.
 * Each piece keeps the share of the offset range it covers (gaps, filtered
 * and dead-lettered messages), so marking a piece processed never skips an
 * offset of another. Only the failure path reads records here, on the main
 * thread: to know which offsets a failed window holds.
 */
import type { RawBatch } from '../../protocol/batch-codec.ts';
import { readWindow, type FetchedRecords, type RecordWindow } from '../../protocol/records.ts';

/** A batch waiting in its partition's queue. */
export interface QueuedBatch {
  records: FetchedRecords;
  /** First offset this batch covers (the previous batch's nextOffset, or where the fetch started). */
  startOffset: number;
  nextOffset: number;
}

/** What an executor runs for `batch`: at most `max` of its records, without the `skip`ped offsets. */
export function windowOf(batch: QueuedBatch, max: number, skip: ReadonlySet<number>): RecordWindow {
  const inside: number[] = [];
  for (const o of skip) if (o >= batch.startOffset && o < batch.nextOffset) inside.push(o);
  return { from: batch.startOffset, to: batch.nextOffset, max, skip: inside };
}

/** The part of a batch from `offset` on (what a failure left unprocessed, or what a run did not take). */
export function restFrom(batch: QueuedBatch, offset: number): QueuedBatch {
  return offset <= batch.startOffset ? batch : { ...batch, startOffset: Math.min(offset, batch.nextOffset) };
}

/** The part of a batch before `offset`. */
export function before(batch: QueuedBatch, offset: number): QueuedBatch {
  return offset >= batch.nextOffset ? batch : { ...batch, nextOffset: Math.max(offset, batch.startOffset) };
}

/** The records of the batch a consumer would get (decoded here: failure path and dead letters only). */
export function readRecords(batch: QueuedBatch, skip: ReadonlySet<number>, checkCrcs: boolean): RawBatch {
  return readWindow(batch.records, windowOf(batch, Number.MAX_SAFE_INTEGER, skip), checkCrcs).raw;
}
