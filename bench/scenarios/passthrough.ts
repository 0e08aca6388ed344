/**
 * passthrough: a no-op consumer on small (9 B, Karafka's benchmark payload)
 * and 1 KB JSON messages, i.e. the framework's own cost per message, against
 * raw kafkajs (and @platformatic/kafka, Java, and Karafka's published numbers). With --profile
 * the 9 B run's largest pool records the fetcher thread's CPU profile.
 */
import { check, type ScenarioResult } from '../lib/report.ts';
import { summarizeProfile } from '../lib/profile.ts';
import { throughput, withRatios } from '../lib/runner.ts';
import { createTopic, produceFixed } from '../lib/seed.ts';
import type { Scenario, ScenarioOutcome } from '../lib/scenario.ts';

export const passthrough: Scenario = {
  name: 'passthrough',
  async run(ctx) {
    const { opts, runId } = ctx;
    const P = opts.partitions;
    const outcome: ScenarioOutcome = { results: [] };
    const payloads: Array<[string, string]> = [
      ['9 B', '{"a":"b"}'], // Karafka's benchmark payload
      ['1 KB', JSON.stringify({ id: 'event-1', body: 'y'.repeat(1024 - 28) })],
    ];
    for (const [label, payload] of payloads) {
      const topic = `bench-pass-${label.replace(' ', '')}-${runId}`;
      await createTopic(ctx, topic, P);
      await produceFixed(ctx, topic, opts.messages, payload);
      const { rows, profileFile } = await throughput(ctx, `passthrough ${label}`, topic, opts.messages, 'none', {}, true, opts.profile && label === '9 B', true);
      const ratios = withRatios(rows, 'kafkajs');
      const pools = ratios.filter((r) => r.contender.startsWith('partita pool'));
      const best = pools.reduce((a, b) => (b.messagesPerSecond > a.messagesPerSecond ? b : a));
      const s: ScenarioResult = {
        name: `passthrough ${label}`,
        description: `no-op consume of ${Buffer.byteLength(payload)}-byte JSON payloads`,
        baseline: 'kafkajs',
        partitions: P,
        messages: opts.messages,
        rows: ratios,
        targets: [
          check(`best Partita pool (${best.contender}) vs raw kafkajs`, best.ratio ?? 0, 1.5, 'higher', '×'),
          check('best Partita pool vs Karafka 2.x published 88k msg/s', best.messagesPerSecond, 88_000, 'higher', 'msg/s'),
          check('best Partita pool vs Karafka 1.x published 30k msg/s', best.messagesPerSecond, 30_000, 'higher', 'msg/s'),
        ],
        notes: [],
      };
      if (profileFile) {
        outcome.profile = summarizeProfile(profileFile);
        s.notes.push(`fetcher (main thread) CPU profile of ${pools.at(-1)!.contender}: ${profileFile}`);
      }
      outcome.results.push(s);
    }
    return outcome;
  },
};
