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
/** Alternating rounds of one thread then two; the best of each is kept. */
export const CEILING_ROUNDS = 3;

/** `messages` messages of cpuWork split over `threads` bare threads; timed from the go (all threads loaded) to the last one done. */
async function bare(threads: number, messages: number, rounds: number, payload: string): Promise<ContenderRow> {
  const each = Math.ceil(messages / threads);
  // Worker threads inherit this process's --import (bin/register.js), so the .ts file loads.
  const workers = Array.from({ length: threads }, () => new Worker(THREAD, { workerData: { messages: each, rounds, payload } }));
  const said = (w: Worker, what: string) =>
    new Promise<void>((resolve, reject) => {
      const onMessage = (m: unknown) => {
        if (m !== what) return;
        w.off('message', onMessage);
        resolve();
      };
      w.on('message', onMessage);
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`bare cpu thread exited with ${code} before '${what}'`)));
    });
  try {
    await Promise.all(workers.map((w) => said(w, 'ready')));
    const done = Promise.all(workers.map((w) => said(w, 'done')));
    const started = performance.now();
    const cpuAtStart = process.cpuUsage();
    for (const w of workers) w.postMessage('go');
    await done;
    const seconds = (performance.now() - started) / 1000;
    // Measured like the contenders' column (CPU time of the process over wall time), not assumed.
    const cpu = process.cpuUsage(cpuAtStart);
    return { contender: `bare threads ×${threads} (no Kafka)`, messages: each * threads, seconds, messagesPerSecond: (each * threads) / seconds, cores: (cpu.user + cpu.system) / 1e6 / seconds };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** One thread, then two, CEILING_ROUNDS times in turn; the best of each (the machine's noise only ever slows a run down). */
export async function threadCeiling(messages: number, rounds: number, payload: string): Promise<{ one: ContenderRow; two: ContenderRow }> {
  let one: ContenderRow | undefined;
  let two: ContenderRow | undefined;
  for (let i = 0; i < CEILING_ROUNDS; i++) {
    const a = await bare(1, messages, rounds, payload);
    const b = await bare(2, messages, rounds, payload);
    if (!one || a.messagesPerSecond > one.messagesPerSecond) one = a;
    if (!two || b.messagesPerSecond > two.messagesPerSecond) two = b;
  }
  return { one: one!, two: two! };
}
