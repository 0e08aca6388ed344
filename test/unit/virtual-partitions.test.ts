import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendMessage, emptyRawBatch } from '../../src/protocol/batch-codec.ts';
import { resolveDeserializer } from '../../src/messages/deserializers.ts';
import { fnv1a, fnv1aString, splitByKey, type Parallel } from '../../src/runner/virtual-partitions.ts';

/** 2,000 messages over 1,024 keys (key = offset mod 1024), as the io-keyed bench sends them. */
function batch(n = 2000, keys = 1024) {
  const b = emptyRawBatch('t', 0, n);
  for (let o = 0; o < n; o++) appendMessage(b, { offset: String(o), timestamp: '0', key: Buffer.from(String(o % keys)), value: null });
  return b;
}

const split = (parallel: Parallel, b = batch()) => splitByKey(b, parallel, 'g', resolveDeserializer(undefined), 1);

/** Every key in exactly one virtual partition, its offsets ascending there; every row exactly once. */
function assertKeyOrder(parts: ReturnType<typeof split>, n: number): void {
  const seen = new Map<string, number>();
  let rows = 0;
  for (const { vp, raw } of parts) {
    let last = -1;
    for (let i = 0; i < raw.offsets.length; i++) {
      const key = raw.keys.at(i)!.toString();
      assert.equal(seen.get(key) ?? vp, vp, `key ${key} in two virtual partitions`);
      seen.set(key, vp);
      assert.ok(raw.offsets[i]! > last);
      last = raw.offsets[i]!;
    }
    rows += raw.offsets.length;
  }
  assert.equal(rows, n);
}

test('fnv1aString hashes like fnv1a over the UTF-8 bytes (ASCII and not)', () => {
  for (const s of ['', 'a', 'order-42', 'zoë', '日本', '😀x']) assert.equal(fnv1aString(s), fnv1a(Buffer.from(s, 'utf8')));
});

test('consistent: a key goes to fnv1a(key) mod max, whether by key or by a function', () => {
  for (const by of ['key', (m: { keyString: string | null }) => m.keyString ?? ''] as const) {
    const parts = split({ by: by as Parallel['by'], max: 32 });
    assertKeyOrder(parts, 2000);
    for (const { vp, raw } of parts) for (let i = 0; i < raw.offsets.length; i++) assert.equal(fnv1a(raw.keys.at(i)!) % 32, vp);
  }
});

test('balanced: per-key order kept, the virtual partitions within two messages of each other', () => {
  const consistent = split({ by: 'key', max: 32 });
  const parts = split({ by: 'key', max: 32, distribution: 'balanced' });
  assertKeyOrder(parts, 2000);
  const sizes = parts.map((p) => p.raw.offsets.length);
  assert.equal(parts.length, 32);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 2, `sizes ${sizes.join(',')}`);
  assert.ok(Math.max(...consistent.map((p) => p.raw.offsets.length)) > Math.max(...sizes)); // 73 vs 63 on this data
});

test('balanced: fewer keys than max uses one virtual partition per key; one hot key stays whole', () => {
  const few = split({ by: 'key', max: 32, distribution: 'balanced' }, batch(100, 5));
  assert.equal(few.length, 5);
  assertKeyOrder(few, 100);
  const hot = emptyRawBatch('t', 0, 10);
  for (let o = 0; o < 10; o++) appendMessage(hot, { offset: String(o), timestamp: '0', key: Buffer.from(o < 7 ? 'hot' : `k${o}`), value: null });
  const parts = split({ by: 'key', max: 4, distribution: 'balanced' }, hot);
  assertKeyOrder(parts, 10);
  assert.deepEqual(parts.map((p) => p.raw.offsets.length).sort(), [1, 1, 1, 7]);
});
