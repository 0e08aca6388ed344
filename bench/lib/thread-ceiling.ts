/**
 * What this machine allows before Kafka is involved: the CPU scenario's
 * exact per-message work (cpuWork on its payload) on bare worker threads,
 * one thread against two, no broker traffic, no fetcher, no framework. On a
 * 2-core machine shared with the broker (and, on a VM, with other tenants)
 * two threads rarely run at twice one thread's speed; this ratio, measured
 * in the same run, says how much of the pool's 1.8× target the hardware
 * leaves.
 */
import { Worker } from 'node:worker_threads';
import type { ContenderRow } from './report.ts';

const THREAD = new URL('../apps/cpu-thread.ts', import.meta.url);

/** `messages` messages of cpuWork split over `threads` bare threads; wall time from the first start to the last end. */
async function bare(threads: number, messages: number, rounds: number, payload: string): Promise<ContenderRow> {
  const started = performance.now();
  const each = Math.ceil(messages / threads);
  await Promise.all(
    Array.from({ length: threads }, () => {
      // Worker threads inherit this process's --import (bin/register.js), so the .ts file loads.
      const w = new Worker(THREAD, { workerData: { messages: each, rounds, payload } });
      return new Promise<void>((resolve, reject) => {
        w.once('error', reject);
        w.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bare cpu thread exited with ${code}`))));
      });
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { contender: `bare threads ×${threads} (no Kafka)`, messages: each * threads, seconds, messagesPerSecond: (each * threads) / seconds, cores: threads };
}

/** One thread, then two, three times in turn; the best of each (the machine's noise only ever slows a run down). */
export async function threadCeiling(messages: number, rounds: number, payload: string): Promise<{ one: ContenderRow; two: ContenderRow }> {
  let one: ContenderRow | undefined;
  let two: ContenderRow | undefined;
  for (let i = 0; i < 3; i++) {
    const a = await bare(1, messages, rounds, payload);
    const b = await bare(2, messages, rounds, payload);
    if (!one || a.messagesPerSecond > one.messagesPerSecond) one = a;
    if (!two || b.messagesPerSecond > two.messagesPerSecond) two = b;
  }
  return { one: one!, two: two! };
}
