/**
 * cpu on ONE partition: ~50 µs of hashing per message with virtual
 * partitions (`parallel: { max: 32 }`, messages spread over 1,024 keys),
 * which on the pool spread over its threads (`parallel.threads` defaults to
 * all of them). Without them one partition uses one core whatever the pool's
 * size; the target is pool ×2 ≥ 1.7× Partita inline on that one partition.
 */
import { calibrateCpu } from '../apps/work.ts';
import type { ContenderSpec } from '../lib/contender.ts';
import { baseSpec, group, row, runContender, withRatios } from '../lib/runner.ts';
import { check, type ContenderRow } from '../lib/report.ts';
import { createTopic, produceFixed } from '../lib/seed.ts';
import type { Scenario } from '../lib/scenario.ts';

const MAX = 32;

export const cpuKeyed: Scenario = {
  name: 'cpu-keyed',
  async run(ctx) {
    const { opts, runId } = ctx;
    const rounds = calibrateCpu(50);
    const n = Math.max(2000, Math.round(opts.messages / 20));
    const topic = `bench-cpu-keyed-${runId}`;
    await createTopic(ctx, topic, 1);
    await produceFixed(ctx, topic, n, JSON.stringify({ id: 123456, user: 'u-42', page: '/pricing', ts: 1_700_000_000_000, tags: ['a', 'b', 'c'] }), 1);
    const spec = (name: string, more: Partial<ContenderSpec>): ContenderSpec => ({ ...baseSpec(ctx), kind: 'partita', topic, group: group(ctx, 'cpu-keyed', name), expect: n, work: 'cpu', hashRounds: rounds, parallel: MAX, ...more });
    const rows: ContenderRow[] = [];
    rows.push(row(`partita inline, parallel max ${MAX}`, await runContender('cpu-keyed partita inline', spec('inline', { backend: 'inline' }))));
    rows.push(row('partita pool ×2, no virtual partitions', await runContender('cpu-keyed partita pool ×2 (one partition)', spec('pool2-single', { backend: 'pool', workers: 2, parallel: undefined }))));
    for (const workers of opts.workers) {
      rows.push(row(`partita pool ×${workers}, parallel max ${MAX}`, await runContender(`cpu-keyed partita pool ×${workers} parallel`, spec(`pool${workers}`, { backend: 'pool', workers }))));
    }
    // Balanced: each batch's keys spread evenly over the virtual partitions, so the two lanes get equal shares.
    rows.push(row(`partita pool ×2, parallel max ${MAX} balanced`, await runContender('cpu-keyed partita pool ×2 parallel balanced', spec('pool2-balanced', { backend: 'pool', workers: 2, distribution: 'balanced' }))));
    const ratios = withRatios(rows, `partita inline, parallel max ${MAX}`);
    const two = ratios.find((r) => r.contender === `partita pool ×2, parallel max ${MAX}`);
    const balanced = ratios.find((r) => r.contender === `partita pool ×2, parallel max ${MAX} balanced`)!;
    return {
      results: [
        {
          name: 'cpu keyed, 1 partition',
          description: `JSON parse + ${rounds} chained sha256 per message (~50 µs) on one partition; virtual partitions (parallel max ${MAX}, 1,024 keys) spread over the pool's threads`,
          baseline: `partita inline, parallel max ${MAX}`,
          partitions: 1,
          messages: n,
          rows: ratios,
          targets: [
            ...(two ? [check('one partition, pool ×2 with virtual partitions, speed-up over inline', two.ratio ?? 0, 1.7, 'higher', '×')] : []),
            check('one partition, pool ×2 with virtual partitions, balanced, speed-up over inline', balanced.ratio ?? 0, 1.7, 'higher', '×'),
          ],
          notes: [`${rounds} hash rounds ≈ 50 µs per message (calibrated at start); every lane reads the whole window, so each thread also decodes the other lane's records`],
        },
      ],
    };
  },
};
