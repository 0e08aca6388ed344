/**
 * PoolExecutor with a partition spread over two lanes, on a stand-in pool
 * (pure dispatch logic; the real threads are in the virtual-partitions
 * integration test): each lane goes to its own pin, a lost thread fails the
 * batch as lost unless another lane failed on its own, a thread that died
 * after its lane answered is noticed, and withdrawn with a reset instance
 * rewinds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consumer, createApp } from '../../src/index.ts';
import { PoolExecutor } from '../../src/main/dispatch/pool-executor.ts';
import type { WorkerPool } from '../../src/main/dispatch/worker-pool.ts';
import type { BatchOutcome, BatchTask, Gate } from '../../src/protocol/tasks.ts';
import type { FetchedRecords } from '../../src/protocol/records.ts';

class Noop extends Consumer {
  consume(): void {}
}
const route = createApp({ kafka: { brokers: ['127.0.0.1:9092'] }, concurrency: 2, topics: { t: { consumer: Noop, parallel: { max: 8 } } } }).route('partita', 't')!;
const records: FetchedRecords = { kind: 'raw', topic: 't', partition: 0, highWatermark: 10, bytes: Buffer.alloc(0), aborted: [] };
const gate: Gate = { fence: new SharedArrayBuffer(16), epoch: 0 };
const done = (threadId: number, more: Partial<BatchOutcome> = {}): BatchOutcome => ({ threadId, commitOffset: 10, endOffset: 10, messages: 5, filtered: 0, durationMs: 1, split: 1, ...more });

/** A pool whose lane `i` answers `answers[i]` (an outcome, or an error to reject with) on thread 100 + i. */
function fakePool(answers: Array<BatchOutcome | Error>, opts: { diesAfter?: number } = {}) {
  const pins = new Map<string, number>();
  const tasks: BatchTask[] = [];
  const pool = {
    async runBatch(key: string, task: BatchTask): Promise<BatchOutcome> {
      tasks.push(task);
      const lane = task.lane!.index;
      pins.set(key, 100 + lane);
      const answer = answers[lane]!;
      if (answer instanceof Error) throw answer;
      // The thread exits right after answering (its pins go, as WorkerPool does on exit).
      if (opts.diesAfter === lane) setImmediate(() => pins.delete(key));
      else await new Promise((r) => setTimeout(r, 5)); // the other lane is still running then
      return answer;
    },
    pinnedThread: (key: string) => pins.get(key),
  };
  return { executor: new PoolExecutor(pool as unknown as WorkerPool, () => 1000), tasks, pins };
}

test('one task per lane, each with its lane; the outcomes merged', async () => {
  const { executor, tasks, pins } = fakePool([done(100), done(101, { commitOffset: 7 })]);
  const out = await executor.run(route, 0, records, { from: 0, to: 10, max: 1000, skip: [] }, 1, gate);
  assert.deepEqual(tasks.map((t) => t.lane), [{ index: 0, count: 2 }, { index: 1, count: 2 }]);
  assert.equal(pins.size, 2, 'two pins: one per lane');
  assert.equal(out.commitOffset, 7);
  assert.equal(out.messages, 10);
});

test('a lane whose thread died: the batch fails as a lost thread (not counted) — unless another lane failed on its own', async () => {
  const lost = new Error('worker thread 101 exited');
  await assert.rejects(fakePool([done(100), lost]).executor.run(route, 0, records, { from: 0, to: 10, max: 1000, skip: [] }, 1, gate), /exited/);
  const timeout = done(-1, { commitOffset: null, error: { name: 'JobTimeoutError', message: 'timed out', code: 'JOB_TIMEOUT' }, instanceReset: true });
  const out = await fakePool([timeout, lost]).executor.run(route, 0, records, { from: 0, to: 10, max: 1000, skip: [] }, 1, gate);
  assert.equal(out.error?.code, 'JOB_TIMEOUT', 'the timeout counts, though it took the shared thread down');
  assert.equal(out.commitOffset, null);
  assert.equal(out.instanceReset, true);
});

test("a lane's thread that exits after answering, while the other lane still runs, fails the batch as lost", async () => {
  await assert.rejects(fakePool([done(100), done(101)], { diesAfter: 1 }).executor.run(route, 0, records, { from: 0, to: 10, max: 1000, skip: [] }, 1, gate), /exited before the batch's other lanes finished/);
});

test('withdrawn, but a lane that ran reset a stuck instance: rewound as for a lost thread', async () => {
  const withdrawn: BatchOutcome = { threadId: 100, withdrawn: true, commitOffset: null, durationMs: 0 };
  await assert.rejects(fakePool([withdrawn, done(101, { instanceReset: true, error: { name: 'E', message: 'stuck' } })]).executor.run(route, 0, records, { from: 0, to: 10, max: 1000, skip: [] }, 1, gate), /reset its instance while another was withdrawn/);
  const plain = await fakePool([withdrawn, done(101)]).executor.run(route, 0, records, { from: 0, to: 10, max: 1000, skip: [] }, 1, gate);
  assert.equal(plain.withdrawn, true);
});
