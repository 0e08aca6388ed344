/**
 * The per-message work of each scenario, shared by every contender so they
 * all do exactly the same thing.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export type WorkKind = 'none' | 'cpu' | 'io' | 'latency';

/** CPU-bound: parse the JSON payload, then hash it `rounds` times (chained), ~50 µs when calibrated. */
export function cpuWork(value: Buffer | null, rounds: number): string {
  const parsed = JSON.parse(value?.toString('utf8') ?? 'null') as unknown;
  let digest: Buffer = Buffer.from(JSON.stringify(parsed));
  for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).update(value ?? '').digest();
  return digest.toString('hex', 0, 4);
}

/** I/O-bound: 1 ms of waiting (a database or HTTP call), as in Karafka's benchmark. */
export function ioWork(): Promise<void> {
  return sleep(1);
}

/** Wall-clock now in ms with sub-ms precision, comparable across processes on one machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Rounds of cpuWork that take about `targetUs` per message here (median of a few trials). */
export function calibrateCpu(targetUs = 50): number {
  const sample = Buffer.from(JSON.stringify({ id: 123456, user: 'u-42', page: '/pricing', ts: 1_700_000_000_000, tags: ['a', 'b', 'c'] }));
  const per = (rounds: number) => {
    const n = 2000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) cpuWork(sample, rounds);
    return ((performance.now() - t0) * 1000) / n;
  };
  per(10); // warm up
  const base = per(0);
  const perRound = (per(100) - base) / 100;
  return Math.max(1, Math.round((targetUs - base) / perRound));
}

/** Latency histogram: 0.1 ms buckets up to 10 s (exact enough for p50/p95/p99). */
export class LatencyHistogram {
  static readonly BUCKET_MS = 0.1;
  readonly counts = new Map<number, number>();
  n = 0;

  add(ms: number): void {
    const b = Math.max(0, Math.round(ms / LatencyHistogram.BUCKET_MS));
    this.counts.set(b, (this.counts.get(b) ?? 0) + 1);
    this.n += 1;
  }

  merge(entries: Array<[number, number]>): void {
    for (const [b, c] of entries) {
      this.counts.set(b, (this.counts.get(b) ?? 0) + c);
      this.n += c;
    }
  }

  quantile(q: number): number {
    const sorted = [...this.counts].sort((a, b) => a[0] - b[0]);
    let acc = 0;
    for (const [b, c] of sorted) {
      acc += c;
      if (acc >= q * this.n) return b * LatencyHistogram.BUCKET_MS;
    }
    return Number.NaN;
  }

  toJSON(): Array<[number, number]> {
    return [...this.counts];
  }
}
