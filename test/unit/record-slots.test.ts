/**
 * Reused shared slots for fetched record sets (src/kafka/record-slots.ts):
 * a released slot is handed out again (no fresh SharedArrayBuffer per
 * fetch, which V8 would not count as memory to collect); readers get a
 * private copy, and a reader whose slot was released and reused under it
 * gets BATCH_CORRUPT instead of someone else's records. The scheduler
 * releases a record set only once no queued, running or retried batch
 * needs it, on real captured Fetch bytes.
 */
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Consumer, createApp } from '../../src/index.ts';
import { createLogger } from '../../src/logger.ts';
import { Instrumentation } from '../../src/events.ts';
import { acquireRecordSlot, recordSlotStats, releaseRecordSlot, resetRecordSlots } from '../../src/kafka/record-slots.ts';
import type { Executor } from '../../src/main/dispatch/executor.ts';
import { OffsetTracker } from '../../src/main/offsets.ts';
import { Scheduler } from '../../src/main/scheduler/scheduler.ts';
import { readWindow, takeBytes, type RawRecordSet } from '../../src/protocol/records.ts';
import type { BatchOutcome } from '../../src/protocol/tasks.ts';
import { batch } from '../helpers/record-batches.ts';

const dir = join(import.meta.dirname, '..', 'fixtures', 'fetch');
const fixtureBytes = readFileSync(join(dir, 'mixed.bin'));
const fixture = JSON.parse(readFileSync(join(dir, 'mixed.json'), 'utf8')) as { aborted: Array<{ producerId: string; firstOffset: number }>; expected: Array<{ offset: number; value: string | null }> };
const aborted = fixture.aborted.map((a) => ({ producerId: BigInt(a.producerId), firstOffset: a.firstOffset }));
const lastOffset = fixture.expected.at(-1)!.offset;

/** The captured record set as raw-fetch hands it over: in a slot. */
function slotted(): RawRecordSet {
  const { bytes, slot } = acquireRecordSlot(fixtureBytes.length);
  fixtureBytes.copy(bytes);
  return { kind: 'raw', topic: 't', partition: 0, highWatermark: lastOffset + 1, bytes, aborted, slot };
}

beforeEach(() => resetRecordSlots());

test('a released slot is handed out again; a stale release does not free its next occupant', () => {
  const a = acquireRecordSlot(1000);
  assert.ok(a.bytes.buffer instanceof SharedArrayBuffer);
  assert.equal(a.bytes.length, 1000);
  releaseRecordSlot(a.slot);
  releaseRecordSlot(a.slot); // idempotent
  const b = acquireRecordSlot(900);
  assert.equal(b.bytes.buffer, a.bytes.buffer, 'the same shared memory, reused');
  assert.notEqual(b.slot.gen, a.slot.gen);
  releaseRecordSlot(a.slot); // the first use's reference, late: must not free the second
  assert.equal(recordSlotStats().inUse, 1);
  const c = acquireRecordSlot(900);
  assert.notEqual(c.bytes.buffer, b.bytes.buffer, 'an occupied slot is never handed out');
  // A much larger record set does not squeeze into a small slot, nor a tiny one take a large slot.
  releaseRecordSlot(b.slot);
  const big = acquireRecordSlot(4 * 1024 * 1024);
  assert.notEqual(big.bytes.buffer, b.bytes.buffer);
  // Sizes: a small record set takes at most twice its size (many quiet partitions), a large one its size rounded to 64 KiB.
  assert.equal((acquireRecordSlot(300).bytes.buffer as SharedArrayBuffer).byteLength, 1024);
  assert.equal((acquireRecordSlot(5000).bytes.buffer as SharedArrayBuffer).byteLength, 8192);
  assert.equal((acquireRecordSlot(1_048_600).bytes.buffer as SharedArrayBuffer).byteLength, 17 * 65536);
});

test('readers get a private copy; a slot released under a reader is BATCH_CORRUPT, never another batch', () => {
  const records = slotted();
  const { buf: copy, inPlace } = takeBytes(records, { from: 0, to: lastOffset + 1, max: 1000, skip: [] });
  assert.equal(inPlace, false, 'the fixture has uncompressed batches');
  assert.ok(!(copy.buffer instanceof SharedArrayBuffer), 'views handed to consume() survive the slot');
  assert.deepEqual(copy, fixtureBytes);
  const read = readWindow(records, { from: 0, to: lastOffset + 1, max: 1000, skip: [] }, true);
  assert.deepEqual(read.raw.offsets, fixture.expected.map((e) => e.offset));
  releaseRecordSlot(records.slot!);
  const other = acquireRecordSlot(fixtureBytes.length); // the slot, reused for another fetch
  assert.equal(other.bytes.buffer, records.bytes.buffer);
  fixtureBytes.copy(other.bytes);
  assert.throws(() => takeBytes(records, { from: 0, to: lastOffset + 1, max: 1000, skip: [] }), (err: Error & { code?: string }) => err.code === 'BATCH_CORRUPT' && /released before this thread read them/.test(err.message));
});

test('a reader copies only the batches its window reaches, and reads exactly what the whole record set gives', () => {
  for (const abortedHere of [aborted, []]) {
    const records = { ...slotted(), aborted: abortedHere };
    const whole: RawRecordSet = { ...records, slot: undefined };
    for (let from = 0; from <= lastOffset + 1; from += 3) {
      for (const span of [1, 4, 50]) {
        const window = { from, to: from + span, max: 2, skip: [] };
        const a = readWindow(records, window, true);
        const b = readWindow(whole, window, true);
        assert.deepEqual([a.raw.offsets, a.endOffset, Array.from({ length: a.raw.values.length }, (_, i) => String(a.raw.values.at(i)))], [b.raw.offsets, b.endOffset, Array.from({ length: b.raw.values.length }, (_, i) => String(b.raw.values.at(i)))], `window ${from}..${from + span}`);
      }
    }
  }
  const tail = { from: lastOffset, to: lastOffset + 1, max: 1000, skip: [] };
  const head = { from: 0, to: 1, max: 1000, skip: [] };
  assert.ok(takeBytes({ ...slotted(), aborted: [] }, tail).buf.length < fixtureBytes.length, 'the batches below the window are left out');
  assert.ok(takeBytes(slotted(), head).buf.length < fixtureBytes.length, 'the batches from the window\'s end on are left out');
  assert.equal(takeBytes(slotted(), tail).buf.length, fixtureBytes.length, 'with aborted transactions the batches below stay (their markers are read)');
});

test('a window of compressed batches only is read in place (decompression makes the bytes consume() gets); a slot reused under it is still BATCH_CORRUPT', () => {
  const batches = [
    batch({ baseOffset: 0, gzip: true, records: [{ offsetDelta: 0, key: 'k0', value: 'v0' }, { offsetDelta: 1, value: 'v1' }] }),
    batch({ baseOffset: 2, gzip: true, records: [{ offsetDelta: 0, value: 'v2' }] }),
  ];
  const all = Buffer.concat(batches);
  const place = () => {
    const { bytes, slot } = acquireRecordSlot(all.length);
    all.copy(bytes);
    return { kind: 'raw', topic: 't', partition: 3, highWatermark: 3, bytes, aborted: [], slot } satisfies RawRecordSet;
  };
  const window = { from: 0, to: 3, max: 1000, skip: [] };
  const records = place();
  const taken = takeBytes(records, window);
  assert.equal(taken.inPlace, true);
  assert.ok(taken.buf.buffer instanceof SharedArrayBuffer, 'no copy of the compressed bytes');
  const read = readWindow(records, window, true);
  assert.deepEqual(read.raw.offsets, [0, 1, 2]);
  assert.deepEqual(Array.from({ length: 3 }, (_, i) => read.raw.values.at(i)!.toString()), ['v0', 'v1', 'v2']);
  assert.ok(Array.from({ length: 3 }, (_, i) => read.raw.values.at(i)!).every((v) => !(v.buffer instanceof SharedArrayBuffer)), 'values are views on decompressed bytes, not on the slot');
  // One uncompressed batch in the window: copied as before.
  const mixed = Buffer.concat([batches[0]!, batch({ baseOffset: 2, records: [{ offsetDelta: 0, value: 'plain' }] })]);
  const m = acquireRecordSlot(mixed.length);
  mixed.copy(m.bytes);
  assert.equal(takeBytes({ kind: 'raw', topic: 't', partition: 3, highWatermark: 3, bytes: m.bytes, aborted: [], slot: m.slot }, window).inPlace, false);
  // Released and reused for other bytes that decode well: the reader must not take them for its own.
  releaseRecordSlot(records.slot);
  const other = acquireRecordSlot(all.length);
  assert.equal(other.bytes.buffer, records.bytes.buffer);
  all.copy(other.bytes);
  assert.throws(() => readWindow(records, window, true), (err: Error & { code?: string }) => err.code === 'BATCH_CORRUPT' && /released before this thread read them/.test(err.message));
  // ... and reused for bytes that fail to decode (a CRC mismatch here): reported as released, not as corrupt data.
  const damaged = place();
  const reuse = () => {
    releaseRecordSlot(damaged.slot);
    const next = acquireRecordSlot(all.length);
    assert.equal(next.bytes.buffer, damaged.bytes.buffer);
    all.copy(next.bytes);
    next.bytes[70]! ^= 0xff; // inside batch 0's compressed records
    return next;
  };
  const next = reuse();
  assert.throws(() => readWindow({ ...damaged, slot: next.slot }, window, true), /CRC-32C/, 'the same bytes, still current, are corrupt data');
  assert.throws(() => readWindow(damaged, window, true), (err: Error & { code?: string }) => err.code === 'BATCH_CORRUPT' && /released before this thread read them/.test(err.message));
  // A window that decoded well from a slot reused under it (and would carry its batch on) carries nothing.
  const carried = place();
  assert.ok(readWindow({ ...carried, slot: undefined }, { ...window, max: 1 }, true).carry, 'stopping inside a compressed batch carries it');
  releaseRecordSlot(carried.slot);
  all.copy(acquireRecordSlot(all.length).bytes);
  assert.throws(() => readWindow(carried, { ...window, max: 1 }, true), /released before this thread read them/, 'so no carry comes back from it');
});

class Noop extends Consumer {
  consume(): void {}
}

function harness(fail: (attempt: number) => boolean) {
  const app = createApp({ kafka: { brokers: ['127.0.0.1:9092'] }, routes: { g: { prefetch: 4, retryBackoff: { initialMs: 10, maxMs: 10 }, topics: { t: { consumer: Noop } } } } });
  const group = app.group('g')!;
  const pending: Array<() => void> = [];
  const executor: Executor = {
    run: (_r, _p, records, window, attempt) =>
      new Promise<BatchOutcome>((resolve) => {
        const { raw, endOffset } = readWindow(records, window, true);
        pending.push(() =>
          resolve(fail(attempt) ? { threadId: 1, commitOffset: null, endOffset, durationMs: 0, error: { name: 'Error', message: 'boom' } } : { threadId: 1, commitOffset: endOffset, endOffset, messages: raw.offsets.length, durationMs: 0 }),
        );
      }),
    revoke: async () => undefined,
    eofed: async () => undefined,
    threadOf: () => 1,
  };
  const offsets = new OffsetTracker();
  const scheduler = new Scheduler({ group, offsets, logger: createLogger({ level: 'silent' }), executorFor: () => executor, events: new Instrumentation(), fetch: { pause: () => {}, resume: () => {}, seek: () => {} } });
  const settle = async () => {
    pending.shift()!();
    await new Promise((r) => setTimeout(r, 1));
  };
  return { scheduler, route: group.topics[0]!, offsets, pending, settle };
}

const inUse = () => recordSlotStats().inUse;

test('the scheduler releases a record set once no queued, running or retried batch needs it', async () => {
  const h = harness((attempt) => attempt === 1);
  h.scheduler.accept(h.route, 0, slotted(), 0, lastOffset + 1);
  h.scheduler.accept(h.route, 0, slotted(), lastOffset + 1, lastOffset + 1); // nothing new in it: released at once
  assert.equal(inUse(), 1, 'running');
  await h.settle(); // fails: kept for the retry
  assert.equal(inUse(), 1, 'kept while its retry waits');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(h.pending.length, 1, 'the retry runs from memory');
  await h.settle();
  assert.equal(h.offsets.processed('t', 0), lastOffset + 1);
  assert.equal(inUse(), 0, 'released once done');
});

test('revoking and stopping release what was queued; a batch in flight keeps its set until it settles', async () => {
  const h = harness(() => false);
  h.scheduler.accept(h.route, 0, slotted(), 0, 40);
  h.scheduler.accept(h.route, 0, slotted(), 40, lastOffset + 1);
  assert.equal(inUse(), 2);
  const revoked = h.scheduler.revoke('t', 0, 1000);
  assert.equal(inUse(), 1, 'the queued one at once');
  await h.settle();
  await revoked;
  assert.equal(inUse(), 0, 'the running one when it settled');
  h.scheduler.accept(h.route, 1, slotted(), 0, lastOffset + 1);
  const drained = h.scheduler.drain(Date.now() + 1000);
  h.scheduler.accept(h.route, 1, slotted(), 0, lastOffset + 1); // after the stop began: dropped, released
  assert.equal(inUse(), 1);
  await h.settle();
  await drained;
  assert.equal(inUse(), 0);
});
