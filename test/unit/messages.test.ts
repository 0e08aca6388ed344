/** Messages, lazy payloads and the packed batch format (pure logic). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Messages, PayloadError } from '../../src/index.ts';
import { resolveDeserializer } from '../../src/messages/deserializers.ts';
import { appendMessage, emptyRawBatch, packBatch, unpackBatch, type ArrayBatch } from '../../src/protocol/batch-codec.ts';

function batch(values: Array<string | null>, headers?: Record<string, Buffer>): ArrayBatch {
  const raw = emptyRawBatch('t', 3, 100);
  values.forEach((v, i) =>
    appendMessage(raw, { offset: String(10 + i), timestamp: String(1_700_000_000_000 + i), key: Buffer.from(`k${i}`), value: v === null ? null : Buffer.from(v), headers: i === 0 ? headers : {} }),
  );
  return raw;
}

test('payload is parsed lazily, once, and cached', () => {
  let calls = 0;
  const counting = (raw: Buffer | null) => {
    calls += 1;
    return JSON.parse(raw!.toString());
  };
  const messages = new Messages<{ n: number }>(batch(['{"n":1}', '{"n":2}']), 'g', counting);
  assert.equal(calls, 0, 'building the batch parses nothing');
  const [first] = messages;
  assert.equal(first!.payload.n, 1);
  assert.equal(first!.payload.n, 1);
  assert.equal(calls, 1, 'cached after the first read');
  assert.deepEqual(messages.payloads(), [{ n: 1 }, { n: 2 }]);
  assert.equal(calls, 2);
});

test('a malformed payload throws PayloadError only when read, with its coordinates', () => {
  const messages = new Messages(batch(['{"n":1}', '{oops', '{"n":3}']), 'g', resolveDeserializer('json'));
  const list = messages.toArray();
  assert.equal(list[1]!.offset, 11);
  assert.equal(list[1]!.keyString, 'k1', 'key readable without touching the payload');
  assert.equal((list[2]!.payload as { n: number }).n, 3);
  for (let i = 0; i < 2; i++) {
    assert.throws(() => list[1]!.payload, (err: unknown) => err instanceof PayloadError && err.code === 'PAYLOAD_INVALID' && err.offset === 11 && err.topic === 't' && err.partition === 3);
  }
  assert.throws(() => messages.payloads(), PayloadError);
});

test('metadata describes the batch', () => {
  const m = new Messages(batch(['1', '2', '3']), 'grp', resolveDeserializer('json'), 2);
  assert.equal(m.length, 3);
  assert.deepEqual(
    { topic: m.metadata.topic, partition: m.metadata.partition, group: m.metadata.consumerGroup, first: m.metadata.firstOffset, last: m.metadata.lastOffset, size: m.metadata.size, lag: m.metadata.offsetLag, attempt: m.metadata.attempt },
    { topic: 't', partition: 3, group: 'grp', first: 10, last: 12, size: 3, lag: 87, attempt: 2 },
  );
  assert.equal(m.metadata.createdAt.getTime(), 1_700_000_000_000);
  assert.ok(m.metadata.consumptionLagMs > 0);
  assert.equal(m.first()!.offset, 10);
  assert.equal(m.last()!.offset, 12);
});

test('string, raw, custom deserializers and tombstones', () => {
  const raw = batch(['hello', null]);
  assert.deepEqual(new Messages(raw, 'g', resolveDeserializer('string')).payloads(), ['hello', null]);
  assert.deepEqual(new Messages(raw, 'g', resolveDeserializer('json')).toArray()[1]!.payload, null);
  const bytes = new Messages(raw, 'g', resolveDeserializer('raw')).toArray()[0]!.payload as Buffer;
  assert.ok(Buffer.isBuffer(bytes) && bytes.toString() === 'hello');
  const custom = new Messages(raw, 'g', resolveDeserializer((b, ctx) => `${ctx.topic}/${ctx.offset}:${b?.length ?? 0}`));
  assert.deepEqual(custom.payloads(), ['t/10:5', 't/11:0']);
});

test('pack → transfer → unpack keeps every column; the packed buffer owns its memory', () => {
  const raw = batch(['{"a":"b"}', null, 'x'.repeat(5000)], { trace: Buffer.from('abc') });
  const packed = packBatch(raw);
  assert.equal(packed.byteOffset, 0);
  assert.equal(packed.buffer.byteLength, packed.byteLength, 'safe to transfer');
  const copy = structuredClone(packed, { transfer: [packed.buffer] });
  assert.equal(packed.byteLength, 0, 'the original was detached (transferred, not cloned)');
  const back = unpackBatch(copy);
  assert.deepEqual(back.offsets, [10, 11, 12]);
  assert.deepEqual(back.timestamps, raw.timestamps);
  assert.ok(back.keys.every((k) => Buffer.isBuffer(k)));
  assert.equal(back.values[1], null);
  assert.equal(back.values[2]!.length, 5000);
  const msg = new Messages(back, 'g', resolveDeserializer('json')).toArray()[0]!;
  assert.deepEqual(msg.payload, { a: 'b' });
  assert.equal(msg.header('trace'), 'abc');
  assert.ok(Buffer.isBuffer(msg.headers.trace));
});
