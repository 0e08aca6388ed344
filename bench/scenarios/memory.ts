/**
 * memory: one process consumes a large backlog; its peak RSS must stay
 * bounded by configuration (prefetch, maxBytesPerPartition), not by the
 * backlog. Raw kafkajs's peak RSS is the baseline.
 */
import { availableParallelism } from 'node:os';
import { baseSpec, group, row, runContender } from '../lib/runner.ts';
import { check } from '../lib/report.ts';
import { createTopic, produceFixed } from '../lib/seed.ts';
import type { Scenario } from '../lib/scenario.ts';

export const memory: Scenario = {
  name: 'memory',
  async run(ctx) {
    const { opts, runId } = ctx;
    const P = opts.partitions;
    const base = baseSpec(ctx);
    const n = opts.memoryBacklog;
    const topic = `bench-memory-${runId}`;
    await createTopic(ctx, topic, P);
    await produceFixed(ctx, topic, n, JSON.stringify({ id: 'event', body: 'z'.repeat(80) }));
    const prefetch = 2;
    const maxBytesPerPartition = 1024 * 1024;
    const raw = await runContender('memory kafkajs', { ...base, kind: 'kafkajs', topic, group: group(ctx, 'memory', 'kafkajs'), expect: n, work: 'none' });
    const r = await runContender('memory partita pool', { ...base, kind: 'partita', backend: 'pool', workers: availableParallelism(), topic, group: group(ctx, 'memory', 'pool'), expect: n, work: 'none', prefetch, maxBytesPerPartition });
    // The same two with smaller young generations (V8's semi-space, 16 MiB by default here; the flag
    // reaches every thread's isolate): what a memory-bound deployment can set in NODE_OPTIONS.
    const small = ['--max-semi-space-size=2'];
    const rawSmall = await runContender('memory kafkajs (semi-space 2 MiB)', { ...base, kind: 'kafkajs', topic, group: group(ctx, 'memory', 'kafkajs-semi2'), expect: n, work: 'none', nodeFlags: small });
    const rSmall = await runContender('memory partita pool (semi-space 2 MiB)', { ...base, kind: 'partita', backend: 'pool', workers: availableParallelism(), topic, group: group(ctx, 'memory', 'pool-semi2'), expect: n, work: 'none', prefetch, maxBytesPerPartition, nodeFlags: small });
    const boundMb = (P * (prefetch + 1) * maxBytesPerPartition + 10 * 1024 * 1024) / 2 ** 20;
    const rows = [row('kafkajs', raw), row(`partita pool ×${availableParallelism()}`, r), row('kafkajs, --max-semi-space-size=2', rawSmall), row(`partita pool ×${availableParallelism()}, --max-semi-space-size=2`, rSmall)].map((x) => ({ ...x, ratio: (x.peakRssBytes ?? 0) / (raw.peakRssBytes || 1) }));
    return {
      results: [
        {
          name: 'memory',
          description: `a backlog of ${n.toLocaleString('en-US')} messages consumed by one process; ratio = peak RSS vs raw kafkajs`,
          baseline: 'kafkajs',
          partitions: P,
          messages: n,
          rows,
          targets: [check('peak RSS of the Partita process (defaults)', r.peakRssBytes / 2 ** 20, 300, 'lower', 'MB')],
          notes: [
            `with NODE_OPTIONS=--max-semi-space-size=2 the Partita process peaked at ${Math.round(rSmall.peakRssBytes / 2 ** 20)} MB (${rSmall.messagesPerSecond.toFixed(0)} msg/s; kafkajs ${Math.round(rawSmall.peakRssBytes / 2 ** 20)} MB)`,
            `batch buffers are bounded by configuration, not by the backlog: partitions × (prefetch + 1) × maxBytesPerPartition + one fetch response (maxBytes) = ${P} × ${prefetch + 1} × 1 MiB + 10 MiB ≈ ${Math.round(boundMb)} MiB, on top of the runtime (V8 heaps of ${availableParallelism() + 1} threads) and of kafkajs's own decoding garbage (the raw kafkajs row)`,
          ],
        },
      ],
    };
  },
};
