/**
 * Reusable shared memory for fetched record sets (main thread).
 *
 * Why not a fresh SharedArrayBuffer per fetch: V8 does not count a shared
 * backing store towards an isolate's external memory, so garbage
 * SharedArrayBuffers put no pressure on the garbage collector. The main
 * thread allocated one per partition per fetch and held it until its batch
 * was done; by then it was in the old generation, freed only by a full
 * collection that nothing triggered. Peak RSS grew with throughput (a 5M
 * backlog: 600–800 MB, of which ~500 MB was dead record sets on the main
 * thread; bench/scenarios/memory.ts).
 *
 * So record sets live in slots that are reused: the scheduler releases a
 * record set's slot as soon as no queued, running or dead-lettering batch
 * needs it (Scheduler#sweep), and a FinalizationRegistry releases what a
 * path dropped without telling (kafkajs discarding a fetch on a rebalance).
 * A slot carries a generation in a shared Int32 that release bumps: a
 * reader copies the bytes out and then checks the generation it was given
 * (src/protocol/records.ts, takeBytes), so a slot reused under a reader is
 * detected, never read as someone else's records. Readers copy because
 * consume() gets Buffer views on the bytes and may keep them.
 */
import type { RecordSlotRef } from '../protocol/records.ts';

interface Slot {
  readonly data: SharedArrayBuffer;
  readonly ctl: Int32Array;
  gen: number;
  inUse: boolean;
}

/**
 * Slot sizes: powers of two up to this, then multiples of it, so a slot fits
 * the next fetch of about the same size, and a small record set (many quiet
 * partitions) never takes much more than its own size.
 */
const STEP = 64 * 1024;
const MIN_SLOT = 1024;

function slotSize(size: number): number {
  if (size > STEP) return Math.ceil(size / STEP) * STEP;
  let cap = MIN_SLOT;
  while (cap < size) cap *= 2;
  return cap;
}
/** Released slots kept for reuse, at most this many bytes; beyond it they are left to the GC. */
const FREE_BUDGET = 32 * 1024 * 1024;

const byCtl = new Map<Int32Array, Slot>();
let free: Slot[] = [];
let freeBytes = 0;
const unreleased = new FinalizationRegistry<RecordSlotRef>((ref) => releaseRecordSlot(ref));

/** Shared bytes for a record set of `size` bytes, and the reference readers check (see takeBytes). */
export function acquireRecordSlot(size: number): { bytes: Buffer; slot: RecordSlotRef } {
  let best = -1;
  for (let i = 0; i < free.length; i++) {
    const cap = free[i]!.data.byteLength;
    // Best fit, and never a slot much larger than needed (it would hold memory a large fetch could use).
    if (cap >= size && cap <= Math.max(2 * size, size + STEP) && (best < 0 || cap < free[best]!.data.byteLength)) best = i;
  }
  let slot: Slot;
  if (best >= 0) {
    slot = free[best]!;
    free[best] = free[free.length - 1]!;
    free.pop();
    freeBytes -= slot.data.byteLength;
  } else {
    slot = { data: new SharedArrayBuffer(slotSize(size)), ctl: new Int32Array(new SharedArrayBuffer(4)), gen: 0, inUse: false };
    byCtl.set(slot.ctl, slot);
  }
  slot.inUse = true;
  slot.gen = (slot.gen + 1) | 0;
  Atomics.store(slot.ctl, 0, slot.gen);
  const bytes = Buffer.from(slot.data, 0, size);
  const ref: RecordSlotRef = { ctl: slot.ctl, gen: slot.gen };
  unreleased.register(bytes, ref);
  return { bytes, slot: ref };
}

/** The record set in `ref` is no longer needed on this thread; its slot may be reused. Idempotent. */
export function releaseRecordSlot(ref: RecordSlotRef): void {
  const slot = byCtl.get(ref.ctl);
  if (!slot || !slot.inUse || slot.gen !== ref.gen) return;
  slot.inUse = false;
  // A reader that has not finished copying sees another generation and gives up.
  slot.gen = (slot.gen + 1) | 0;
  Atomics.store(slot.ctl, 0, slot.gen);
  if (freeBytes + slot.data.byteLength <= FREE_BUDGET) {
    free.push(slot);
    freeBytes += slot.data.byteLength;
  } else byCtl.delete(slot.ctl);
}

/** Slots handed out and not released, and the bytes kept for reuse (tests, diagnostics). */
export function recordSlotStats(): { inUse: number; free: number; freeBytes: number } {
  let inUse = 0;
  for (const s of byCtl.values()) if (s.inUse) inUse += 1;
  return { inUse, free: free.length, freeBytes };
}

/** Forgets every slot (tests). */
export function resetRecordSlots(): void {
  byCtl.clear();
  free = [];
  freeBytes = 0;
}
