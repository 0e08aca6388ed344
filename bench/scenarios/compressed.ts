/**
 * compressed: pass-through of 1 KB JSON messages compressed with lz4 and
 * zstd by the producer (Java ProducerPerformance with `compression.type`; the
 * topic has the same `compression.type`, so with --no-java the broker
 * compresses what kafkajs sends and the stored batches use the codec either way). Decompression is where the
 * work is: Partita decompresses on the worker threads, raw kafkajs (with the
 * same native codecs registered) on its one event loop. The payloads vary
 * (random text), so the codec has real work to do: the same 1 KB repeated
 * would compress a hundredfold and measure nothing.
 */
import { randomBytes } from 'node:crypto';
import { check, type ScenarioResult } from '../lib/report.ts';
import { throughput, withRatios } from '../lib/runner.ts';
import { createTopic, produceFixed } from '../lib/seed.ts';
import type { Scenario, ScenarioOutcome } from '../lib/scenario.ts';

export const compressed: Scenario = {
  name: 'compressed',
  async run(ctx) {
    const { opts, runId } = ctx;
    const P = opts.partitions;
    const n = Math.max(1000, Math.floor(opts.messages / 2));
    const outcome: ScenarioOutcome = { results: [] };
    // 2,000 distinct payloads of base64 text from random bytes, one per record at random: compressible
    // like text with ids and hashes (base64 carries 6 bits per byte), not like one record repeated.
    const payloads = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ id: `event-${i}`, body: randomBytes(740).toString('base64') }));
    const payload = payloads[0]!;
    for (const codec of ['lz4', 'zstd']) {
      const topic = `bench-${codec}-${runId}`;
      await createTopic(ctx, topic, P, [{ name: 'compression.type', value: codec }]);
      await produceFixed(ctx, topic, n, payloads, P, [`compression.type=${codec}`]);
      const { rows } = await throughput(ctx, `compressed 1 KB ${codec}`, topic, n, 'none', {}, false, false);
      const ratios = withRatios(rows, 'kafkajs');
      const pool2 = ratios.find((r) => r.contender === 'partita pool ×2') ?? ratios.filter((r) => r.contender.startsWith('partita pool')).at(-1)!;
      const s: ScenarioResult = {
        name: `compressed 1 KB ${codec}`,
        description: `no-op consume of ${Buffer.byteLength(payload)}-byte JSON payloads stored ${codec}-compressed`,
        baseline: 'kafkajs',
        partitions: P,
        messages: n,
        rows: ratios,
        targets: [check(`${pool2.contender} vs raw kafkajs (same codecs)`, pool2.ratio ?? 0, 2.0, 'higher', '×')],
        notes: [],
      };
      outcome.results.push(s);
    }
    return outcome;
  },
};
