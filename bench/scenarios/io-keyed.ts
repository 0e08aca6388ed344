/**
 * io on ONE partition: 1 ms of async waiting per message, with and without
 * virtual partitions (`parallel: { max: 32 }`, messages spread over 1,024
 * keys; keys hashed to virtual partitions, and spread evenly per batch with
 * `distribution: 'balanced'`). Without them a partition tops out near 1,000 msg/s; the target for
 * key-level parallelism is ≥ 20,000 msg/s on that one partition.
 */
import type { ContenderSpec } from '../lib/contender.ts';
import { baseSpec, group, row, runContender, withRatios } from '../lib/runner.ts';
import { check, type ContenderRow } from '../lib/report.ts';
import { createTopic, produceFixed } from '../lib/seed.ts';
import type { Scenario } from '../lib/scenario.ts';

const MAX = 32;

export const ioKeyed: Scenario = {
  name: 'io-keyed',
  async run(ctx) {
    const { opts, runId } = ctx;
    const n = Math.max(2000, Math.round(opts.messages / 20));
    const topic = `bench-io-keyed-${runId}`;
    await createTopic(ctx, topic, 1);
    await produceFixed(ctx, topic, n, '{"a":"b"}', 1);
    const spec = (nm: string, more: Partial<ContenderSpec>): ContenderSpec => ({ ...baseSpec(ctx), kind: 'partita', backend: 'pool', workers: 1, topic, group: group(ctx, 'io-keyed', nm), expect: n, work: 'io', maxMessages: 2000, ...more });
    // The one partition without virtual partitions takes ~1 s per 1,000 messages: it gets a tenth of them.
    const single = Math.max(500, Math.round(n / 10));
    const rows: ContenderRow[] = [];
    rows.push(row('partita pool ×1', await runContender('io-keyed partita (one partition)', spec('single', { expect: single }))));
    rows.push(row(`partita pool ×1, parallel max ${MAX}`, await runContender(`io-keyed partita parallel ${MAX}`, spec('parallel', { parallel: MAX }))));
    rows.push(row(`partita pool ×1, parallel max ${MAX} balanced`, await runContender(`io-keyed partita parallel ${MAX} balanced`, spec('balanced', { parallel: MAX, distribution: 'balanced' }))));
    const ratios = withRatios(rows, 'partita pool ×1');
    const [, parallel, balanced] = ratios as [ContenderRow, ContenderRow, ContenderRow];
    return {
      results: [
        {
          name: 'io keyed, 1 partition',
          description: `1 ms of async waiting per message on one partition; virtual partitions (parallel max ${MAX}, 1,024 keys) vs none`,
          baseline: 'partita pool ×1',
          partitions: 1,
          messages: n,
          rows: ratios,
          targets: [check(`one partition with parallel max ${MAX}`, parallel.messagesPerSecond, 20_000, 'higher', 'msg/s'), check(`one partition with parallel max ${MAX}, balanced`, balanced.messagesPerSecond, 20_000, 'higher', 'msg/s')],
          notes: [`without virtual partitions the partition ran ${single.toLocaleString('en-US')} messages (a tenth): it waits 1 ms per message, one after the other`],
        },
      ],
    };
  },
};
