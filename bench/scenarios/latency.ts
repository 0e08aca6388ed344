/**
 * latency: messages produced at a steady rate while the contender consumes
 * them (production starts once it joined its group); produce → consume time
 * per message, raw kafkajs vs the Partita pool, on a topic each.
 */
import { availableParallelism } from 'node:os';
import { nowMs } from '../apps/work.ts';
import { baseSpec, group, row, runContender } from '../lib/runner.ts';
import { check, type ContenderRow } from '../lib/report.ts';
import { createTopic } from '../lib/seed.ts';
import type { Scenario } from '../lib/scenario.ts';

export const latency: Scenario = {
  name: 'latency',
  async run(ctx) {
    const { opts, runId } = ctx;
    const P = opts.partitions;
    const base = baseSpec(ctx);
    const n = opts.rate * opts.latencySeconds;
    const rows: ContenderRow[] = [];
    for (const [label, kind, more] of [
      ['kafkajs', 'kafkajs', {}],
      [`partita pool ×${availableParallelism()}`, 'partita', { backend: 'pool', workers: availableParallelism() }],
    ] as const) {
      const topic = `bench-latency-${label.split(' ')[0]}-${runId}`;
      await createTopic(ctx, topic, P);
      const producer = ctx.kafka.producer();
      await producer.connect();
      const produceAtRate = async () => {
        // `rate` messages per second in 100 sends per second; key = produce time.
        const perTick = Math.max(1, Math.round(opts.rate / 100));
        const start = performance.now();
        for (let sent = 0, tick = 0; sent < n; tick++) {
          const count = Math.min(perTick, n - sent);
          await producer.send({ topic, acks: 1, messages: Array.from({ length: count }, (_, i) => ({ key: String(nowMs()), value: `{"i":${sent + i}}` })) });
          sent += count;
          const wait = start + (tick + 1) * 10 - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
      };
      const r = await runContender(`latency ${label}`, { ...base, kind, topic, group: group(ctx, 'latency', label.split(' ')[0]!), expect: n, work: 'latency', ...more }, produceAtRate);
      await producer.disconnect();
      rows.push(row(label, r));
    }
    const partita = rows[1]!;
    return {
      results: [
        {
          name: 'latency',
          description: `produce at ${opts.rate.toLocaleString('en-US')} msg/s for ${opts.latencySeconds} s; produce → consume time per message`,
          baseline: 'kafkajs',
          partitions: P,
          messages: n,
          rows,
          targets: [
            check(`Partita p99 at ${opts.rate.toLocaleString('en-US')} msg/s`, partita.latencyMs?.p99 ?? Number.NaN, 50, 'lower', 'ms'),
            check('Partita p99 vs raw kafkajs p99 in the same run', partita.latencyMs?.p99 ?? Number.NaN, rows[0]!.latencyMs?.p99 ?? Number.NaN, 'lower', 'ms'),
          ],
          notes: ['latency = consume time − produce time (both wall clock on this machine, sub-ms precision)'],
        },
      ],
    };
  },
};
