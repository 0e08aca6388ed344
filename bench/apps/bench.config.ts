/**
 * Boot file of the Partita contenders. Env: BENCH_BROKERS, BENCH_TOPIC,
 * BENCH_GROUP, BENCH_BACKEND (pool|inline), BENCH_WORKERS, BENCH_WORK,
 * BENCH_HASH_ROUNDS, BENCH_PREFETCH, BENCH_MAX_BYTES_PER_PARTITION, BENCH_MAX_MESSAGES,
 * BENCH_YOUNG_GEN_MB (threadMemory.youngGenerationMb, for experiments),
 * BENCH_PARALLEL (virtual partitions, BENCH_PARALLEL_DISTRIBUTION consistent|balanced; the bench data has no keys, so `by` spreads
 * messages over 1,024 keys by offset, as 1,024 distinct keys would).
 * Defaults otherwise: the point is to measure what users get.
 */
import { createApp } from 'partita';
import { BenchConsumer } from './bench-consumer.ts';

const env = process.env;

export default createApp({
  kafka: { brokers: (env.BENCH_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'partita-bench' },
  concurrency: Number(env.BENCH_WORKERS ?? 2),
  ...(env.BENCH_YOUNG_GEN_MB ? { threadMemory: { youngGenerationMb: Number(env.BENCH_YOUNG_GEN_MB) } } : {}),
  http: { enabled: false },
  routes: {
    [env.BENCH_GROUP ?? 'bench']: {
      prefetch: Number(env.BENCH_PREFETCH ?? 2),
      maxBytesPerPartition: Number(env.BENCH_MAX_BYTES_PER_PARTITION ?? 1024 * 1024),
      ...(env.BENCH_MAX_MESSAGES ? { maxMessages: Number(env.BENCH_MAX_MESSAGES) } : {}),
      // Frequent commits: the run ends at the last commit.
      commitIntervalMs: 100,
      topics: {
        [env.BENCH_TOPIC ?? 'bench']: {
          consumer: BenchConsumer,
          backend: env.BENCH_BACKEND === 'inline' ? 'inline' : 'pool',
          ...(env.BENCH_PARALLEL ? { parallel: { by: (m: { offset: number }) => String(m.offset % 1024), max: Number(env.BENCH_PARALLEL), distribution: env.BENCH_PARALLEL_DISTRIBUTION === 'balanced' ? 'balanced' : 'consistent' } } : {}),
        },
      },
    },
  },
});
