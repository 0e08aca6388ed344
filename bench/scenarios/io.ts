/**
 * io: 1 ms of async waiting per message, sequential within a partition, so
 * throughput is bounded by the partition count, not the CPU; the notes say
 * how many partitions a target rate needs.
 */
import { availableParallelism } from 'node:os';
import type { ContenderSpec } from '../lib/contender.ts';
import { baseSpec, group, row, runContender, withRatios } from '../lib/runner.ts';
import type { ContenderRow } from '../lib/report.ts';
import { createTopic, produceFixed } from '../lib/seed.ts';
import type { Scenario } from '../lib/scenario.ts';

export const io: Scenario = {
  name: 'io',
  async run(ctx) {
    const { opts, runId } = ctx;
    const P = opts.partitions;
    const base = baseSpec(ctx);
    const n = Math.max(1000, Math.round(opts.messages / 20));
    const topic = `bench-io-${runId}`;
    await createTopic(ctx, topic, P);
    await produceFixed(ctx, topic, n, '{"a":"b"}');
    const rows: ContenderRow[] = [];
    const spec = (kind: ContenderSpec['kind'], nm: string, more: Partial<ContenderSpec> = {}): ContenderSpec => ({ ...base, kind, topic, group: group(ctx, 'io', nm), expect: n, work: 'io', ...more });
    rows.push(row('kafkajs', await runContender('io kafkajs', spec('kafkajs', 'kafkajs'))));
    rows.push(row(`partita pool ×${availableParallelism()} (defaults)`, await runContender('io partita pool (defaults)', spec('partita', 'pool', { backend: 'pool', workers: availableParallelism() }))));
    const ratios = withRatios(rows, 'kafkajs');
    const partita = ratios[1]!;
    const perPartition = partita.messagesPerSecond / P;
    return {
      results: [
        {
          name: 'io',
          description: '1 ms of async waiting per message, sequential within a partition',
          baseline: 'kafkajs',
          partitions: P,
          messages: n,
          rows: ratios,
          targets: [],
          notes: [
            `${P} partitions → ${Math.round(partita.messagesPerSecond)} msg/s, ${Math.round(perPartition)} msg/s per partition (1 ms per message caps a partition near 1000/s): 10,000 msg/s needs ≥ ${Math.ceil(10_000 / perPartition)} partitions, 50,000 msg/s ≥ ${Math.ceil(50_000 / perPartition)}`,
          ],
        },
      ],
    };
  },
};
