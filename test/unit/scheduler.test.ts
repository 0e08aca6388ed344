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
import { appendMessage, emptyRawBatch, type RawBatch } from '../../src/messages/raw-batch.ts';
import type { Executor } from '../../src/runtime/executors.ts';
import { OffsetTracker } from '../../src/runtime/offset-tracker.ts';
import { Scheduler } from '../../src/runtime/scheduler.ts';
import type { BatchOutcome } from '../../src/runtime/wire.ts';

class Noop extends Consumer {
  consume(): void {}
}

function raw(partition: number, from: number, count: number): RawBatch {
  const b = emptyRawBatch('t', partition, 1000);
  for (let o = from; o < from + count; o++) appendMessage(b, { offset: String(o), timestamp: '0', key: null, value: null });
  return b;
}

function harness(opts: { prefetch?: number; fail?: (b: RawBatch, attempt: number) => boolean } = {}) {
  const app = createApp({
    kafka: { brokers: ['127.0.0.1:9092'] },
    routes: { g: { prefetch: opts.prefetch ?? 2, retryBackoff: { initialMs: 20, maxMs: 40 }, topics: { t: { consumer: Noop } } } },
  });
  const group = app.group('g')!;
  const route = group.topics[0]!;
  const calls: string[] = [];
  const pending: Array<() => void> = [];
  let running = 0;
  let maxRunning = 0;
  const executor: Executor = {
    run: (_r, b, attempt, nextOffset) =>
      new Promise<BatchOutcome>((resolve) => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        calls.push(`run p${b.partition} ${b.offsets[0]}-${b.offsets.at(-1)} a${attempt}`);
        pending.push(() => {
          running -= 1;
          const failed = opts.fail?.(b, attempt) ?? false;
          resolve(failed ? { threadId: 1, commitOffset: null, durationMs: 0, error: { name: 'Error', message: 'boom' } } : { threadId: 1, commitOffset: nextOffset, durationMs: 0 });
        });
      }),
    revoke: async () => {
      calls.push('revoke');
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
    fetch: {
      pause: (_t, p) => calls.push(`pause p${p}`),
      resume: (_t, p) => calls.push(`resume p${p}`),
      seek: (_t, p, o) => calls.push(`seek p${p} ${o}`),
    },
  });
  const finishOne = async () => {
    pending.shift()!();
    await new Promise((r) => setImmediate(r));
  };
  return { scheduler, route, calls, offsets, finishOne, pending, maxRunning: () => maxRunning };
}

test('one batch in flight per partition, in order; partitions run side by side', async () => {
  const h = harness({ prefetch: 10 });
  h.scheduler.accept(h.route, raw(0, 0, 10), 10);
  h.scheduler.accept(h.route, raw(0, 10, 10), 20);
  h.scheduler.accept(h.route, raw(1, 0, 5), 5);
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
  h.scheduler.accept(h.route, raw(0, 0, 1), 1); // runs
  h.scheduler.accept(h.route, raw(0, 1, 1), 2); // queued 1
  h.scheduler.accept(h.route, raw(0, 2, 1), 3); // queued 2 → pause
  assert.deepEqual(h.calls, ['run p0 0-0 a1', 'pause p0']);
  await h.finishOne();
  assert.deepEqual(h.calls.slice(2), ['resume p0', 'run p0 1-1 a1']);
});

test('a batch emptied by the filter still moves the watermark, in order', async () => {
  const h = harness();
  h.scheduler.accept(h.route, raw(0, 0, 3), 3);
  h.scheduler.accept(h.route, emptyRawBatch('t', 0, 100), 7);
  assert.equal(h.offsets.processed('t', 0), undefined, 'not before the batch ahead of it');
  await h.finishOne();
  assert.equal(h.offsets.processed('t', 0), 7);
  assert.equal(h.scheduler.fetchPosition('t', 0), 7);
});

test('a failure pauses, drops the queue, backs off, seeks to the first unprocessed offset and retries with attempt+1', async () => {
  const h = harness({ fail: (b, attempt) => b.offsets[0] === 5 && attempt === 1 });
  h.scheduler.accept(h.route, raw(0, 0, 5), 5);
  h.scheduler.accept(h.route, raw(0, 5, 5), 10);
  h.scheduler.accept(h.route, raw(0, 10, 5), 15);
  await h.finishOne(); // 0-4 ok
  await h.finishOne(); // 5-9 fails
  assert.equal(h.offsets.processed('t', 0), 5);
  assert.equal(h.calls.at(-1), 'pause p0', 'the failing partition is paused');
  assert.ok(!h.calls.includes('run p0 10-14 a1'), 'the batch behind the failure is dropped, not run');
  h.scheduler.accept(h.route, raw(0, 10, 5), 15); // arrives during backoff: ignored
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(h.calls.slice(-2), ['seek p0 5', 'resume p0']);
  assert.equal(h.scheduler.fetchPosition('t', 0), 5);
  h.scheduler.accept(h.route, raw(0, 5, 10), 15); // re-fetched from the seek point
  assert.equal(h.calls.at(-1), 'run p0 5-14 a2');
  await h.finishOne();
  assert.equal(h.offsets.processed('t', 0), 15);
  assert.equal(h.scheduler.status()[0]!.attempt, 1, 'attempt resets after success');
});

test('revoking a paused partition resumes it in kafkajs (which keeps pauses across reassignments)', async () => {
  const h = harness({ prefetch: 1 });
  h.scheduler.accept(h.route, raw(0, 0, 1), 1); // runs
  h.scheduler.accept(h.route, raw(0, 1, 1), 2); // queued → pause
  assert.equal(h.calls.at(-1), 'pause p0');
  const revoked = h.scheduler.revoke('t', 0, 5000);
  assert.equal(h.calls.at(-1), 'resume p0');
  await h.finishOne();
  await revoked;
});

test('revoke waits for the in-flight batch, then revokes the instance and forgets the partition', async () => {
  const h = harness();
  h.scheduler.accept(h.route, raw(0, 0, 5), 5);
  const revoked = h.scheduler.revoke('t', 0, 5000);
  await new Promise((r) => setImmediate(r));
  assert.ok(!h.calls.includes('revoke'), 'not while the batch runs');
  await h.finishOne();
  await revoked;
  assert.equal(h.calls.at(-1), 'revoke');
  assert.equal(h.offsets.processed('t', 0), undefined);
  assert.deepEqual(h.scheduler.status(), []);
});
