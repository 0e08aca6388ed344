/**
 * cpu: JSON parse plus ~50 µs of hashing per message (calibrated on this
 * machine at start), where worker threads should pay off: the pool's
 * speed-up over Partita inline.
 */
import { calibrateCpu } from '../apps/work.ts';
import { throughput, withRatios } from '../lib/runner.ts';
import { check } from '../lib/report.ts';
import { CEILING_ROUNDS, threadCeiling } from '../lib/thread-ceiling.ts';
import { createTopic, produceFixed } from '../lib/seed.ts';
import type { Scenario } from '../lib/scenario.ts';

export const cpu: Scenario = {
  name: 'cpu',
  async run(ctx) {
    const { opts, runId } = ctx;
    const P = opts.partitions;
    const rounds = calibrateCpu(50);
    const n = Math.max(1000, Math.round(opts.messages / (opts.quick ? 4 : 5)));
    const topic = `bench-cpu-${runId}`;
    await createTopic(ctx, topic, P);
    const payload = JSON.stringify({ id: 123456, user: 'u-42', page: '/pricing', ts: 1_700_000_000_000, tags: ['a', 'b', 'c'] });
    await produceFixed(ctx, topic, n, payload);
    const { rows } = await throughput(ctx, 'cpu', topic, n, 'cpu', { hashRounds: rounds }, false, false);
    // The machine's own limit, in the same run: the same work on bare threads (a quarter of the messages each way).
    const ceiling = await threadCeiling(Math.round(n / 4), rounds, payload);
    rows.push(ceiling.one, ceiling.two);
    const ratios = withRatios(rows, 'partita inline');
    const two = ratios.find((r) => r.contender === 'partita pool ×2');
    const bareScaling = ceiling.two.messagesPerSecond / ceiling.one.messagesPerSecond;
    return {
      results: [
        {
          name: 'cpu',
          description: `JSON parse + ${rounds} chained sha256 per message (~50 µs, calibrated)`,
          baseline: 'partita inline',
          partitions: P,
          messages: n,
          rows: ratios,
          targets: two ? [check('Partita pool ×2 speed-up over inline', two.ratio ?? 0, 1.8, 'higher', '×')] : [],
          notes: [
            `${rounds} hash rounds ≈ 50 µs per message on this machine (calibrated at start)`,
            `this machine's ceiling for the target: the same work on 2 bare threads ran ${bareScaling.toFixed(2)}× as fast as on 1 (no broker, no fetcher; best of ${CEILING_ROUNDS} alternating rounds each)`,
          ],
        },
      ],
    };
  },
};
