/** The resume signal the fetch-wake hook waits on (pure timing logic). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResumeSignal } from '../../src/kafka/fetch-wake.ts';

test('wait() ends at the next resumed(), or after its time; every waiter wakes; nothing is left waiting', async () => {
  const s = new ResumeSignal();
  const started = performance.now();
  const waits = [s.wait(5000), s.wait(5000)];
  assert.equal(s.waiting, 2);
  setTimeout(() => s.resumed(), 20);
  await Promise.all(waits);
  assert.ok(performance.now() - started < 1000, 'woken by resumed(), not by the 5 s timer');
  assert.equal(s.waiting, 0);
  const t0 = performance.now();
  await s.wait(30);
  assert.ok(performance.now() - t0 >= 25, 'without a resume it waits its time');
  assert.equal(s.waiting, 0);
  s.resumed(); // nobody waiting: nothing happens
});
