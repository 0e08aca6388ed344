/**
 * The main thread's scavenge per RESPONSE_BUDGET bytes of decoded Fetch
 * responses (src/kafka/response-scavenge.ts): dead buffers outside the V8
 * heap, held by young JS objects, are freed once the budget is spent, not
 * before it; and obtaining V8's `gc` leaves no global `gc` behind in this
 * context or in a worker thread started afterwards, while a process started
 * with --expose-gc keeps its own in both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { RESPONSE_BUDGET, responseDecoded, responseScavenges } from '../../src/kafka/response-scavenge.ts';

const MiB = 1024 * 1024;

/** Buffers as kafkajs leaves them after a response: dropped at once, outside the heap. */
function dropBuffers(count: number): void {
  for (let i = 0; i < count; i++) Buffer.alloc(MiB, i).fill(i + 1);
}

const arrayBuffers = () => process.memoryUsage().arrayBuffers;

test('below the budget nothing is collected early; at the budget one scavenge frees the dead buffers', async () => {
  const before = responseScavenges();
  responseDecoded(RESPONSE_BUDGET / 4); // counted twice (chunks plus the joined copy): half the budget
  await sleep(5);
  assert.equal(responseScavenges(), before, 'no scavenge below the budget');

  const base = arrayBuffers();
  dropBuffers(24);
  assert.ok(arrayBuffers() - base >= 20 * MiB, 'the dropped buffers are still counted until something collects them');
  responseDecoded(RESPONSE_BUDGET / 4); // the rest of the budget
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.equal(responseScavenges(), before + 1, 'one scavenge once the budget is spent');
  // V8 may free the backing stores on a helper thread right after the scavenge.
  for (let i = 0; i < 50 && arrayBuffers() - base >= 8 * MiB; i++) await sleep(20);
  assert.ok(arrayBuffers() - base < 8 * MiB, `the dead buffers were freed (${((arrayBuffers() - base) / MiB).toFixed(1)} MiB left)`);
});

test('many responses while a scavenge is pending schedule only one', async () => {
  const before = responseScavenges();
  for (let i = 0; i < 10; i++) responseDecoded(RESPONSE_BUDGET);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.equal(responseScavenges(), before + 1);
});

test('no global gc is left in this context or in a worker started afterwards', async () => {
  responseDecoded(RESPONSE_BUDGET); // the collector exists by now
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
  const worker = new Worker('require("node:worker_threads").parentPort.postMessage(typeof globalThis.gc)', { eval: true });
  const [seen] = await Promise.all([new Promise((r) => worker.once('message', r)), new Promise((r) => worker.once('exit', r))]);
  assert.equal(seen, 'undefined');
});

test('a process started with --expose-gc keeps its global gc, in workers started afterwards too', () => {
  const root = join(import.meta.dirname, '..', '..');
  const script = `
    import { Worker } from 'node:worker_threads';
    import { RESPONSE_BUDGET, responseDecoded, responseScavenges } from './src/kafka/response-scavenge.ts';
    responseDecoded(RESPONSE_BUDGET);
    await new Promise((r) => setImmediate(r));
    const worker = new Worker('import("node:worker_threads").then((w) => w.parentPort.postMessage(typeof globalThis.gc))', { eval: true });
    const seen = await new Promise((r) => worker.once('message', r));
    console.log(JSON.stringify({ main: typeof globalThis.gc, worker: seen, scavenges: responseScavenges() }));
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', './bin/register.js', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').at(-1)!), { main: 'function', worker: 'function', scavenges: 1 });
});
