/**
 * The consumer every Partita contender runs: the scenario's work per message
 * (BENCH_WORK), nothing else. Latency runs keep a histogram per instance and
 * write it on shutdown (BENCH_OUT_DIR), since instances live in worker threads.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { Consumer, type Messages } from 'partita';
import { cpuWork, ioWork, LatencyHistogram, nowMs, type WorkKind } from './work.ts';

const work = (process.env.BENCH_WORK ?? 'none') as WorkKind;
const rounds = Number(process.env.BENCH_HASH_ROUNDS ?? 0);

export class BenchConsumer extends Consumer {
  #latency = new LatencyHistogram();

  async consume(messages: Messages): Promise<void> {
    switch (work) {
      case 'none':
        return; // payloads are lazy: never even parsed
      case 'cpu':
        for (const m of messages) cpuWork(m.rawPayload, rounds);
        return;
      case 'io':
        for (const _ of messages) await ioWork();
        return;
      case 'latency': {
        const now = nowMs();
        for (const m of messages) this.#latency.add(now - Number(m.keyString));
        return;
      }
    }
  }

  override shutdown(): void {
    const dir = process.env.BENCH_OUT_DIR;
    if (work === 'latency' && dir && this.#latency.n > 0) writeFileSync(join(dir, `latency-${threadId}-${this.partition}.json`), JSON.stringify(this.#latency.toJSON()));
  }
}
