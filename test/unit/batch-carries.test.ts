/**
 * BatchCarries (src/runner/batch-carries.ts): a thread keeps at most one
 * decompressed batch per partition between its windows, and all of them
 * within a byte budget, dropping the least recently kept partition's first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchCarries } from '../../src/runner/batch-carries.ts';
import type { BatchCarry } from '../../src/protocol/record-set.ts';

const carryOf = (bytes: number): BatchCarry => ({ baseOffset: 0, batchLength: 1, crc: 0, records: Buffer.alloc(bytes), from: 1 });

test('one carry per partition, taken by its next read (which keeps what it stops inside, or nothing); revoke drops it', () => {
  const carries = new BatchCarries(1000);
  carries.keep('p0', carryOf(100));
  carries.keep('p1', carryOf(200));
  assert.equal(carries.bytes, 300);
  assert.equal(carries.take('p0')?.records.length, 100, 'the next read of the partition gets what the last one kept');
  carries.keep('p0', carryOf(50));
  assert.equal(carries.bytes, 250);
  carries.take('p1'); // a read that stopped elsewhere keeps nothing
  assert.equal(carries.bytes, 50, 'a read that keeps nothing leaves nothing');
  carries.drop('p0');
  assert.equal(carries.bytes, 0);
  assert.equal(carries.take('p0'), undefined);
});

test('over the budget the least recently kept partitions lose their carry, never the one just kept; a read that throws keeps nothing', () => {
  const carries = new BatchCarries(1000);
  for (const p of ['a', 'b', 'c']) carries.keep(p, carryOf(400));
  assert.equal(carries.bytes, 800, 'a was dropped for c');
  assert.equal(carries.take('a'), undefined);
  const b = carries.take('b');
  assert.ok(b);
  carries.keep('b', b);
  carries.keep('huge', carryOf(5000));
  assert.equal(carries.bytes, 5000, 'alone over the budget, the one just kept stays (its next window is next)');
  assert.ok(carries.take('huge'));
  // The read after it threw: nothing is kept again (the runner keeps only what a read returns).
  assert.equal(carries.bytes, 0);
  carries.keep('x', carryOf(10));
  carries.clear();
  assert.equal(carries.bytes, 0);
});

test('a carry counts the allocation its records keep alive, not their length', () => {
  const carries = new BatchCarries(1000);
  const big = Buffer.alloc(4096);
  carries.keep('p', { ...carryOf(0), records: big.subarray(0, 10) });
  assert.equal(carries.bytes, 4096);
});
