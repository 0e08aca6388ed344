/**
 * PartitionRunner (the code each worker runs): it reads its window of a raw
 * record set (at most `max` records, the route's filter applied, corrupt
 * bytes reported as BATCH_CORRUPT), instances are created per partition and
 * reused, initialized() runs once before the first batch, and the offset it
 * reports depends on the offset mode — the whole window in auto mode, only
 * marked messages in manual mode, marked ones even when consume() throws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consumer, createApp, type Message, type Messages } from '../../src/index.ts';
import type { RawRecordSet } from '../../src/protocol/records.ts';
import { PartitionRunner } from '../../src/runner/partition-runner.ts';
import { mergeLaneOutcomes } from '../../src/main/dispatch/lanes.ts';
import { batch as recordBatch, sharedRecordSet } from '../helpers/record-batches.ts';

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

/** A raw record set holding payloads {n} at offsets from, from+1, … (one record batch). */
function records(partition: number, from: number, ns: number[]): RawRecordSet {
  const bytes = sharedRecordSet(recordBatch({ baseOffset: from, records: ns.map((n, i) => ({ offsetDelta: i, value: JSON.stringify({ n }) })) }));
  return { kind: 'raw', topic: 't', partition, highWatermark: 100, bytes, aborted: [] };
}

/** Runs the window [from, to) of `ns` (written from offset `from`). */
function run(r: PartitionRunner, group: string, partition: number, from: number, ns: number[], to: number, attempt = 1, max = 1000) {
  return r.runBatch(group, 't', partition, records(partition, from, ns), { from, to, max, skip: [] }, attempt);
}

const app = createApp({
  kafka: { brokers: ['127.0.0.1:9092'] },
  routes: { auto: { topics: { t: { consumer: Marking } } }, manual: { topics: { t: { consumer: Marking, manualOffsets: true } } } },
});

test('auto offsets: the whole batch; one persistent instance per partition, initialized once', async () => {
  log.length = 0;
  const r = new PartitionRunner(app);
  assert.equal((await run(r, 'auto', 0, 0, [1, 3], 2)).commitOffset, 2);
  assert.equal((await run(r, 'auto', 0, 2, [5], 10)).commitOffset, 10, 'the window end covers offsets after the last record (markers, compaction)');
  await run(r, 'auto', 1, 0, [1], 1);
  assert.deepEqual(log, ['init t/0', 'seen 2 attempt 1', 'seen 3 attempt 1', 'init t/1', 'seen 1 attempt 1']);
  assert.equal(r.size, 2);
  await r.revoke('auto', 't', 0);
  assert.equal(log.at(-1), 'revoked 0');
  assert.equal(r.size, 1);
});

test('manual offsets: only marked messages count, also when consume() throws', async () => {
  const r = new PartitionRunner(app);
  assert.equal((await run(r, 'manual', 0, 0, [1, 2, 3], 3)).commitOffset, 2, 'marked offset 1 → commit 2');
  assert.equal((await run(r, 'manual', 0, 3, [5, 7], 5)).commitOffset, null, 'nothing marked');
  const failed = await run(r, 'manual', 0, 5, [8, -1], 7, 2);
  assert.equal(failed.commitOffset, 6, 'the mark before the failure is kept');
  assert.match(failed.error!.message, /negative/);
  assert.equal(log.at(-1), 'seen 5 attempt 1', 'the failed batch did not finish');
  const retried = await run(r, 'manual', 0, 5, [8, 10], 7, 2);
  assert.equal(retried.commitOffset, 7);
  assert.match(log.at(-1)!, /attempt 2$/, 'the consumer sees the attempt number');
});

test('a window: records below `from` and at or above `to` are not delivered; `max` stops early and says where', async () => {
  const r = new PartitionRunner(app);
  const seen: number[] = [];
  const set = records(3, 10, [0, 1, 2, 3, 4, 5]); // offsets 10..15
  const first = await r.runBatch('auto', 't', 3, set, { from: 11, to: 15, max: 2, skip: [] }, 1);
  assert.equal(first.messages, 2);
  assert.equal(first.endOffset, 13, 'the rest starts at the first record not taken');
  assert.equal(first.commitOffset, 13);
  const rest = await r.runBatch('auto', 't', 3, set, { from: 13, to: 15, max: 1000, skip: [14] }, 1);
  assert.equal(rest.messages, 1, 'offset 13 only: 14 is skipped, 15 is past the window');
  assert.equal(rest.endOffset, 15);
  seen.push(first.messages!, rest.messages!);
  assert.deepEqual(seen, [2, 1]);
});

test('corrupt bytes fail the batch with BATCH_CORRUPT before consume() runs', async () => {
  const r = new PartitionRunner(app);
  const set = records(4, 0, [1, 2]);
  set.bytes[set.bytes.length - 1]! ^= 0xff; // a flipped bit in the last record: the CRC-32C no longer matches
  log.length = 0;
  const out = await r.runBatch('auto', 't', 4, set, { from: 0, to: 2, max: 1000, skip: [] }, 1);
  assert.equal(out.error?.code, 'BATCH_CORRUPT');
  assert.match(out.error!.message, /CRC-32C/);
  assert.deepEqual(log, [], 'consume() never ran');
});

test('lanes: a thread runs only its share of the virtual partitions (vp mod count); together the lanes run every message once', async () => {
  const ran: Array<{ lane: number; vp: number | null; offset: number }> = [];
  let lane = -1;
  const eofs: number[] = [];
  class Keyed extends Consumer<{ n: number }> {
    last: Message<{ n: number }> | undefined;
    consume(messages: Messages<{ n: number }>): void {
      for (const m of messages) ran.push({ lane, vp: this.virtualPartition, offset: m.offset });
      this.last = messages.last();
      if (this.virtualPartition === 1) this.seek(5);
    }
    override eofed(): void {
      eofs.push(this.virtualPartition!);
      this.markAsConsumed(this.last!);
    }
  }
  const keyed = createApp({
    kafka: { brokers: ['127.0.0.1:9092'] },
    concurrency: 2,
    routes: { g: { topics: { t: { consumer: Keyed, parallel: { max: 4 }, filter: (m) => m.offset !== 3 } } } },
  });
  assert.equal(keyed.route('g', 't')!.parallel!.threads, 2, 'spread over every pool thread by default');
  const bytes = sharedRecordSet(recordBatch({ baseOffset: 0, records: Array.from({ length: 40 }, (_, i) => ({ offsetDelta: i, key: `k${i % 10}`, value: JSON.stringify({ n: i }) })) }));
  const set: RawRecordSet = { kind: 'raw', topic: 't', partition: 0, highWatermark: 40, bytes, aborted: [] };
  const r = new PartitionRunner(keyed);
  const outcomes = [];
  for (const index of [0, 1]) {
    lane = index;
    outcomes.push(await r.runBatch('g', 't', 0, set, { from: 0, to: 40, max: 1000, skip: [] }, 1, undefined, { index, count: 2 }));
  }
  assert.deepEqual(ran.map((x) => x.offset).sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i).filter((o) => o !== 3), 'every message but the filtered one, once');
  for (const x of ran) assert.equal(x.vp! % 2, x.lane, `vp ${x.vp} ran on lane ${x.lane}`);
  assert.ok(ran.some((x) => x.lane === 0) && ran.some((x) => x.lane === 1), 'both lanes had work');
  assert.deepEqual(outcomes.map((o) => o.commitOffset), [40, 40], 'a lane leaves a seek (vp 1 asked seek(5)) to the merge of all lanes');
  assert.deepEqual(outcomes[1]!.control, { seek: 5 });
  assert.equal(outcomes[0]!.messages! + outcomes[1]!.messages!, 39);
  assert.deepEqual(outcomes.map((o) => o.filtered), [1, 0], 'the filtered message is counted once, by the first lane');
  assert.ok(outcomes[0]!.split !== undefined && outcomes[0]!.split === outcomes[1]!.split, 'both lanes split alike');
  // Two lanes on one thread (one runner here): each hook call runs its own lane's instances only.
  const hook = await r.eofed('g', 't', 0, { index: 1, count: 2 });
  assert.ok(eofs.length > 0 && eofs.every((vp) => vp % 2 === 1), `eofed ran on lane 1's virtual partitions only: ${eofs}`);
  assert.deepEqual(hook.commits, [], "a virtual partition's marks in a hook are not committed");
  assert.deepEqual(hook.errors, []);
});

test('lanes of an impure parallel.by split a batch differently: the merge fails it (PARALLEL_SPLIT_MISMATCH)', async () => {
  class Noop extends Consumer {
    consume(): void {}
  }
  const impure = createApp({ kafka: { brokers: ['127.0.0.1:9092'] }, concurrency: 2, routes: { g: { topics: { t: { consumer: Noop, parallel: { max: 8, by: () => String(Math.random()) } } } } } });
  const bytes = sharedRecordSet(recordBatch({ baseOffset: 0, records: Array.from({ length: 40 }, (_, i) => ({ offsetDelta: i, value: '{}' })) }));
  const set: RawRecordSet = { kind: 'raw', topic: 't', partition: 0, highWatermark: 40, bytes, aborted: [] };
  const [a, b] = await Promise.all([0, 1].map((index) => new PartitionRunner(impure).runBatch('g', 't', 0, set, { from: 0, to: 40, max: 1000, skip: [] }, 1, undefined, { index, count: 2 })));
  assert.notEqual(a!.split, b!.split);
  const merged = mergeLaneOutcomes([a!, b!], { group: 'g', topic: 't', partition: 0 });
  assert.equal(merged.error?.code, 'PARALLEL_SPLIT_MISMATCH');
  assert.equal(merged.commitOffset, null);
});
