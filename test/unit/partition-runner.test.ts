/**
 * PartitionRunner (the code each worker runs): instances are created per
 * partition and reused, initialized() runs once before the first batch, and
 * the offset it reports depends on the offset mode — the whole batch in auto
 * mode, only marked messages in manual mode, marked ones even when consume()
 * throws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consumer, createApp, type Messages } from '../../src/index.ts';
import { appendMessage, emptyRawBatch } from '../../src/protocol/batch-codec.ts';
import { PartitionRunner } from '../../src/runner/partition-runner.ts';

const log: string[] = [];

class Marking extends Consumer<{ n: number }> {
  seen = 0;
  override initialized(): void {
    log.push(`init ${this.topic}/${this.partition}`);
  }
  consume(messages: Messages<{ n: number }>): void {
    for (const m of messages) {
      this.seen += 1;
      if (m.payload.n < 0) throw new Error('negative');
      if (m.payload.n % 2 === 0) this.markAsConsumed(m);
    }
    log.push(`seen ${this.seen} attempt ${this.attempt}`);
  }
  override revoked(): void {
    log.push(`revoked ${this.partition}`);
  }
}

function batch(partition: number, from: number, ns: number[]) {
  const raw = emptyRawBatch('t', partition, 100);
  ns.forEach((n, i) => appendMessage(raw, { offset: String(from + i), timestamp: '0', key: null, value: Buffer.from(JSON.stringify({ n })) }));
  return raw;
}

const app = createApp({
  kafka: { brokers: ['127.0.0.1:9092'] },
  routes: { auto: { topics: { t: { consumer: Marking } } }, manual: { topics: { t: { consumer: Marking, manualOffsets: true } } } },
});

test('auto offsets: the whole batch; one persistent instance per partition, initialized once', async () => {
  log.length = 0;
  const r = new PartitionRunner(app);
  assert.equal((await r.runBatch('auto', batch(0, 0, [1, 3]), 1, 2)).commitOffset, 2);
  assert.equal((await r.runBatch('auto', batch(0, 2, [5]), 1, 10)).commitOffset, 10, 'nextOffset covers filtered tail offsets');
  await r.runBatch('auto', batch(1, 0, [1]), 1, 1);
  assert.deepEqual(log, ['init t/0', 'seen 2 attempt 1', 'seen 3 attempt 1', 'init t/1', 'seen 1 attempt 1']);
  assert.equal(r.size, 2);
  await r.revoke('auto', 't', 0);
  assert.equal(log.at(-1), 'revoked 0');
  assert.equal(r.size, 1);
});

test('manual offsets: only marked messages count, also when consume() throws', async () => {
  const r = new PartitionRunner(app);
  assert.equal((await r.runBatch('manual', batch(0, 0, [1, 2, 3]), 1, 3)).commitOffset, 2, 'marked offset 1 → commit 2');
  assert.equal((await r.runBatch('manual', batch(0, 3, [5, 7]), 1, 5)).commitOffset, null, 'nothing marked');
  const failed = await r.runBatch('manual', batch(0, 5, [8, -1]), 2, 7);
  assert.equal(failed.commitOffset, 6, 'the mark before the failure is kept');
  assert.match(failed.error!.message, /negative/);
  assert.equal(log.at(-1), 'seen 5 attempt 1', 'the failed batch did not finish');
  const retried = await r.runBatch('manual', batch(0, 5, [8, 10]), 2, 7);
  assert.equal(retried.commitOffset, 7);
  assert.match(log.at(-1)!, /attempt 2$/, 'the consumer sees the attempt number');
});
