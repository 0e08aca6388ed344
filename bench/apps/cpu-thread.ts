/**
 * A bare worker thread for bench/lib/thread-ceiling.ts: the CPU scenario's work, `messages` times, nothing else.
 * It says 'ready' once loaded and starts on 'go', so the timing leaves out thread start-up (tsx loads in each thread).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { cpuWork } from './work.ts';

const { messages, rounds, payload } = workerData as { messages: number; rounds: number; payload: string };
const value = Buffer.from(payload);
parentPort!.once('message', () => {
  for (let i = 0; i < messages; i++) cpuWork(value, rounds);
  parentPort!.postMessage('done');
  parentPort!.close();
});
parentPort!.postMessage('ready');
