/**
 * Scheduler logic with a fake executor and a fake fetch control (no broker,
 * no threads): one batch in flight per partition in offset order, prefetch
 * bound with pause/resume, filtered-out batches still advance the watermark,
 * failures pause, back off and seek to the first unprocessed offset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consumer, createApp } from '../../src/index.ts';
import { createLogger } from '../../src/logger.ts';
import { appendMessage, emptyRawBatch, type ArrayBatch, type RawBatch } from '../../src/protocol/batch-codec.ts';
import type { Executor } from '../../src/main/dispatch/executor.ts';
import { OffsetTracker } from '../../src/main/offsets.ts';
import { Scheduler } from '../../src/main/scheduler/scheduler.ts';
import { Instrumentation } from '../../src/events.ts';
import { admitted, type BatchOutcome, type ConsumerControl } from '../../src/protocol/tasks.ts';
import { readWindow } from '../../src/protocol/records.ts';

class Noop extends Consumer {
  consume(): void {}
}

function raw(partition: number, from: number, count: number): ArrayBatch {
  const b = emptyRawBatch('t', partition, 1000);
  for (let o = from; o < from + count; o++) appendMessage(b, { offset: String(o), timestamp: '0', key: null, value: null });
  return b;
}

function harness(opts: { prefetch?: number; maxMessages?: number; fail?: (b: RawBatch, attempt: number) => boolean; control?: (b: RawBatch) => ConsumerControl | undefined } = {}) {
  const app = createApp({
    kafka: { brokers: ['127.0.0.1:9092'] },
    routes: { g: { prefetch: opts.prefetch ?? 2, maxMessages: opts.maxMessages ?? 1000, retryBackoff: { initialMs: 20, maxMs: 40 }, topics: { t: { consumer: Noop } } } },
  });
  const group = app.group('g')!;
  const route = group.topics[0]!;
  const calls: string[] = [];
  const pending: Array<() => void> = [];
  let running = 0;
  let maxRunning = 0;
  const executor: Executor = {
    run: (_r, _p, records, window, attempt, gate) =>
      new Promise<BatchOutcome>((resolve) => {
        // What a worker does with the window: read it (at most window.max records), say where it stopped.
        const { raw: b, endOffset } = readWindow(records, window, false);
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        calls.push(`run p${b.partition} ${b.offsets[0]}-${b.offsets.at(-1)} a${attempt}`);
        pending.push(() => {
          running -= 1;
          // Like a worker thread getting to a task that waited behind others: a fenced one never starts.
          if (!admitted(gate)) return resolve({ threadId: 1, commitOffset: null, durationMs: 0, withdrawn: true });
          const failed = opts.fail?.(b, attempt) ?? false;
          const control = opts.control?.(b);
          resolve(failed ? { threadId: 1, commitOffset: null, endOffset, durationMs: 0, error: { name: 'Error', message: 'boom' } } : { threadId: 1, commitOffset: endOffset, endOffset, messages: b.offsets.length, durationMs: 0, ...(control ? { control } : {}) });
        });
      }),
    revoke: async () => {
      calls.push('revoke');
      return undefined;
    },
    eofed: async () => {
      calls.push('eofed');
      return undefined;
    },
    threadOf: () => 1,
  };
  const offsets = new OffsetTracker();
  const scheduler = new Scheduler({
    group,
    offsets,
    logger: createLogger({ level: 'silent' }),
    executorFor: () => executor,
    events: new Instrumentation(),
    fetch: {
      pause: (_t, p, briefly) => calls.push(`pause p${p}${briefly ? ' brief' : ''}`),
      resume: (_t, p) => calls.push(`resume p${p}`),
      seek: (_t, p, o) => calls.push(`seek p${p} ${o}`),
    },
  });
  const finishOne = async () => {
    pending.shift()!();
    await new Promise((r) => setImmediate(r));
  };
  // As the source hands a fetch over: decoded records (the raw bytes path is the integration tests'), from the first offset.
  const accept = (b: ArrayBatch, nextOffset: number) => scheduler.accept(route, b.partition, { kind: 'decoded', raw: b }, b.offsets[0] ?? nextOffset, nextOffset);
  return { scheduler, route, calls, offsets, finishOne, pending, accept, maxRunning: () => maxRunning };
}

test('one batch in flight per partition, in order; partitions run side by side', async () => {
  const h = harness({ prefetch: 10 });
  h.accept(raw(0, 0, 10), 10);
  h.accept(raw(0, 10, 10), 20);
  h.accept(raw(1, 0, 5), 5);
  assert.deepEqual(h.calls, ['run p0 0-9 a1', 'run p1 0-4 a1']);
  await h.finishOne();
  assert.deepEqual(h.calls.slice(2), ['run p0 10-19 a1']);
  await h.finishOne();
  await h.finishOne();
  assert.equal(h.offsets.processed('t', 0), 20);
  assert.equal(h.offsets.processed('t', 1), 5);
  assert.equal(h.maxRunning(), 2);
});

test('a full queue pauses the partition; draining below prefetch resumes it', async () => {
  const h = harness({ prefetch: 2 });
  h.accept(raw(0, 0, 1), 1); // runs
  h.accept(raw(0, 1, 1), 2); // queued 1
  h.accept(raw(0, 2, 1), 3); // queued 2 → pause
  assert.deepEqual(h.calls, ['run p0 0-0 a1', 'pause p0 brief']);
  await h.finishOne();
  assert.deepEqual(h.calls.slice(2), ['resume p0', 'run p0 1-1 a1']);
});

test("the scheduler's own pauses are brief, a consumer's pause() is not, and when it ends on a full queue the pause is brief again", async () => {
  const h = harness({ prefetch: 2, control: (b) => (b.offsets[0] === 0 ? { pauseMs: 30 } : undefined) });
  h.accept(raw(0, 0, 1), 1); // runs, and will ask for a pause
  h.accept(raw(0, 1, 1), 2);
  h.accept(raw(0, 2, 1), 3); // queue full: the scheduler's pause
  await h.finishOne(); // the consumer's pause over it
  assert.deepEqual(h.calls, ['run p0 0-0 a1', 'pause p0 brief', 'pause p0']);
  await new Promise((r) => setTimeout(r, 80)); // its 30 ms end; the queue is still full
  assert.deepEqual(h.calls.slice(3), ['pause p0 brief', 'resume p0', 'run p0 1-1 a1']);
});

test('a window without records (all filtered, or control records only) still moves the watermark, in order', async () => {
  const h = harness();
  h.accept(raw(0, 0, 3), 3);
  h.accept(emptyRawBatch('t', 0, 100), 7);
  assert.equal(h.offsets.processed('t', 0), undefined, 'not before the batch ahead of it');
  await h.finishOne();
  assert.equal(h.offsets.processed('t', 0), 3);
  await h.finishOne(); // the empty window runs too (only where it runs is it known to be empty): no messages
  assert.equal(h.offsets.processed('t', 0), 7);
  assert.equal(h.scheduler.fetchPosition('t', 0), 7);
});

test('a failure backs off and retries the unprocessed rest from memory (attempt+1), before what is queued behind it; no re-fetch', async () => {
  const h = harness({ prefetch: 10, fail: (b, attempt) => b.offsets[0] === 5 && attempt === 1 });
  h.accept(raw(0, 0, 5), 5);
  h.accept(raw(0, 5, 5), 10);
  h.accept(raw(0, 10, 5), 15);
  await h.finishOne(); // 0-4 ok
  await h.finishOne(); // 5-9 fails
  assert.equal(h.offsets.processed('t', 0), 5);
  assert.ok(!h.calls.includes('run p0 10-14 a1'), 'nothing runs during the backoff');
  h.accept(raw(0, 15, 5), 20); // fetching goes on meanwhile: queued, not dropped
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(h.calls.at(-1), 'run p0 5-9 a2');
  assert.ok(!h.calls.some((c) => c.startsWith('seek')), 'the retry does not seek kafkajs');
  await h.finishOne();
  assert.equal(h.calls.at(-1), 'run p0 10-14 a1', 'attempt resets after success');
  await h.finishOne();
  await h.finishOne();
  assert.equal(h.offsets.processed('t', 0), 20);
});

test('a fetched batch larger than maxMessages is split, each part covering its share of the offsets', async () => {
  const h = harness({ prefetch: 100, maxMessages: 4 });
  h.accept(raw(0, 0, 10), 12); // 10, 11: e.g. a transaction marker after the last record
  assert.deepEqual(h.calls, ['run p0 0-3 a1']);
  await h.finishOne();
  assert.equal(h.offsets.processed('t', 0), 4);
  await h.finishOne();
  assert.equal(h.calls.at(-1), 'run p0 8-9 a1');
  assert.equal(h.offsets.processed('t', 0), 8);
  await h.finishOne();
  assert.equal(h.offsets.processed('t', 0), 12);
});

test('hold() during a rebalance: a batch handed out but not started never starts; assigned() drops revoked partitions and resumes kept ones in order', async () => {
  const h = harness({ prefetch: 10 });
  h.accept(raw(0, 0, 5), 5); // handed out (not started: the fake starts it at finishOne)
  h.accept(raw(0, 5, 5), 10);
  h.accept(raw(1, 0, 5), 5);
  h.accept(raw(1, 5, 5), 10);
  assert.deepEqual(h.calls, ['run p0 0-4 a1', 'run p1 0-4 a1']);
  h.scheduler.hold();
  await h.finishOne(); // p0's batch reaches its thread: withdrawn
  await h.finishOne(); // p1's too
  assert.equal(h.offsets.processed('t', 0), undefined, 'a withdrawn batch did not run');
  assert.equal(h.calls.length, 2, 'nothing dispatched while holding');
  await h.scheduler.assigned({ t: [1] });
  assert.ok(h.calls.includes('revoke'), 'p0 revoked');
  assert.deepEqual(h.calls.filter((c) => c.startsWith('run')).slice(2), ['run p1 0-4 a1'], 'p1 resumes with its withdrawn batch first; p0 never runs again');
  await h.finishOne();
  await h.finishOne();
  assert.equal(h.offsets.processed('t', 1), 10);
  assert.equal(h.offsets.processed('t', 0), undefined);
});

test('revoking a paused partition resumes it in kafkajs (which keeps pauses across reassignments)', async () => {
  const h = harness({ prefetch: 1 });
  h.accept(raw(0, 0, 1), 1); // runs
  h.accept(raw(0, 1, 1), 2); // queued → pause
  assert.equal(h.calls.at(-1), 'pause p0 brief');
  const revoked = h.scheduler.revoke('t', 0, 5000);
  assert.equal(h.calls.at(-1), 'resume p0');
  await h.finishOne();
  await revoked;
});

test('revoke waits for the in-flight batch, then revokes the instance and forgets the partition', async () => {
  const h = harness();
  h.accept(raw(0, 0, 5), 5);
  h.accept(raw(0, 5, 5), 10);
  const revoked = h.scheduler.revoke('t', 0, 5000);
  await new Promise((r) => setImmediate(r));
  assert.ok(!h.calls.includes('revoke'), 'not while the batch runs');
  await h.finishOne();
  assert.ok(!h.calls.includes('run p0 5-9 a1'), 'what was queued never runs');
  await revoked;
  assert.equal(h.calls.at(-1), 'revoke');
  assert.equal(h.offsets.processed('t', 0), undefined);
  assert.deepEqual(h.scheduler.status(), []);
});

test('a failed window is retried as the call it was (maxMessages), the untaken rest of the fetch runs after it with its own attempt count', async () => {
  const h = harness({ prefetch: 10, maxMessages: 4, fail: (b, attempt) => b.offsets[0] === 4 && attempt === 1 });
  h.accept(raw(0, 0, 10), 10);
  await h.finishOne(); // 0-3 ok
  await h.finishOne(); // 4-7 fails
  assert.equal(h.offsets.processed('t', 0), 4);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(h.calls.at(-1), 'run p0 4-7 a2', 'the same four messages, attempt 2');
  await h.finishOne();
  assert.equal(h.calls.at(-1), 'run p0 8-9 a1', 'the rest was never part of the failed call');
  await h.finishOne();
  assert.equal(h.offsets.processed('t', 0), 10);
});
