/** A bare worker thread for bench/lib/thread-ceiling.ts: the CPU scenario's work, `messages` times, nothing else. */
import { workerData } from 'node:worker_threads';
import { cpuWork } from './work.ts';

const { messages, rounds, payload } = workerData as { messages: number; rounds: number; payload: string };
const value = Buffer.from(payload);
for (let i = 0; i < messages; i++) cpuWork(value, rounds);
