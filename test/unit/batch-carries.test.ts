/**
 * BatchCarries (src/runner/batch-carries.ts): a thread keeps at most one
 * decompressed batch per partition between its windows, and all of them
 * within a byte budget, dropping the least recently read partition's first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchCarries } from '../../src/runner/batch-carries.ts';
import type { BatchCarry } from '../../src/protocol/record-set.ts';

const carryOf = (bytes: number): BatchCarry => ({ baseOffset: 0, batchLength: 1, crc: 0, records: Buffer.alloc(bytes), from: 1 });

test('one carry per partition, replaced or cleared by its next read; revoke drops it', () => {
  const carries = new BatchCarries(1000);
  carries.read('p0', (h) => (h.carry = carryOf(100)));
  carries.read('p1', (h) => (h.carry = carryOf(200)));
  assert.equal(carries.bytes, 300);
  const seen = carries.read('p0', (h) => {
    const c = h.carry;
    h.carry = carryOf(50);
    return c?.records.length;
  });
  assert.equal(seen, 100, 'the next read of the partition gets what the last one kept');
  assert.equal(carries.bytes, 250);
  carries.read('p1', (h) => (h.carry = undefined));
  assert.equal(carries.bytes, 50, 'a read that keeps nothing leaves nothing');
  carries.drop('p0');
  assert.equal(carries.bytes, 0);
  assert.equal(carries.read('p0', (h) => h.carry), undefined);
});

test('over the budget the least recently read partitions lose their carry, never the one just read; a read that throws keeps nothing', () => {
  const carries = new BatchCarries(1000);
  for (const p of ['a', 'b', 'c']) carries.read(p, (h) => (h.carry = carryOf(400)));
  assert.equal(carries.bytes, 800, 'a was dropped for c');
  assert.equal(carries.read('a', (h) => h.carry), undefined);
  assert.ok(carries.read('b', (h) => ((h.carry = h.carry), h.carry)));
  carries.read('huge', (h) => (h.carry = carryOf(5000)));
  assert.equal(carries.bytes, 5000, 'alone over the budget, the one just read stays (its next window is next)');
  assert.throws(() => carries.read('huge', (h) => {
    h.carry = undefined;
    throw new Error('corrupt');
  }));
  assert.equal(carries.bytes, 0);
  carries.read('x', (h) => (h.carry = carryOf(10)));
  carries.clear();
  assert.equal(carries.bytes, 0);
});
