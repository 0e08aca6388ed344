/**
 * The swarm's pure parts: when a process is restarted (and when the swarm
 * gives up), and how its processes' metrics become one exposition.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RestartPolicy } from '../../src/swarm/restart-policy.ts';
import { aggregateSwarmMetrics, type MetricJson } from '../../src/swarm/aggregate-metrics.ts';

const policy = () => new RestartPolicy({ baseDelayMs: 1000, maxDelayMs: 8000, maxStartCrashes: 3, stableAfterMs: 60_000 });

test('a process that ran is restarted with a doubling backoff, capped', () => {
  const p = policy();
  const delays = [1, 2, 3, 4, 5].map(() => {
    const d = p.onExit({ code: 1, signal: null, started: true, livedMs: 5000 });
    assert.equal(d.restart, true);
    return d.restart ? d.delayMs : -1;
  });
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 8000]);
});

test('running for stableAfterMs resets the backoff', () => {
  const p = policy();
  p.onExit({ code: 1, signal: null, started: true, livedMs: 5000 });
  p.onExit({ code: 1, signal: null, started: true, livedMs: 5000 });
  const d = p.onExit({ code: null, signal: 'SIGKILL', started: true, livedMs: 120_000 });
  assert.deepEqual(d, { restart: true, delayMs: 1000, failures: 1 });
});

test('exits before the server started, maxStartCrashes times in a row, fail the swarm; a start in between resets the count', () => {
  const p = policy();
  const crash = () => p.onExit({ code: 1, signal: null, started: false, livedMs: 800 });
  assert.equal(crash().restart, true);
  assert.equal(crash().restart, true);
  // It got as far as running once: the count of crashes at start begins again.
  assert.equal(p.onExit({ code: 1, signal: null, started: true, livedMs: 3000 }).restart, true);
  assert.equal(crash().restart, true);
  assert.equal(crash().restart, true);
  const last = crash();
  assert.equal(last.restart, false);
  assert.match(last.restart ? '' : last.reason, /3 times in a row before its server started \(last: exit 1\)/);
});

test('exit 2 (usage or config error) is not restarted', () => {
  const d = policy().onExit({ code: 2, signal: null, started: false, livedMs: 300 });
  assert.equal(d.restart, false);
  assert.match(d.restart ? '' : d.reason, /usage or configuration error/);
});

/** The JSON metrics one swarm process would answer with. */
async function processMetrics(messages: number, lagMs: number, seconds: number[]): Promise<MetricJson[]> {
  const r = new Registry();
  new Counter({ name: 'partita_messages_total', help: 'm', labelNames: ['topic', 'partition'], registers: [r] }).inc({ topic: 't', partition: '0' }, messages);
  new Gauge({ name: 'partita_event_loop_lag_seconds', help: 'g', labelNames: ['thread'], registers: [r] }).set({ thread: 'main' }, lagMs / 1000);
  const h = new Histogram({ name: 'partita_batch_seconds', help: 'h', buckets: [0.1, 1], registers: [r] });
  for (const s of seconds) h.observe(s);
  return r.getMetricsAsJSON();
}

test('counters and histograms are summed over the processes; gauges are kept apart by a process label', async () => {
  const text = await aggregateSwarmMetrics([
    { index: 0, metrics: await processMetrics(10, 5, [0.05]) },
    { index: 2, metrics: await processMetrics(32, 40, [0.5, 2]) },
  ]).metrics();
  assert.match(text, /^partita_messages_total\{topic="t",partition="0"\} 42$/m);
  assert.match(text, /^partita_batch_seconds_count 3$/m);
  assert.match(text, /^partita_batch_seconds_bucket\{le="0.1"\} 1$/m);
  assert.match(text, /^partita_batch_seconds_bucket\{le="1"\} 2$/m);
  assert.match(text, /^partita_event_loop_lag_seconds\{thread="main",process="0"\} 0.005$/m);
  assert.match(text, /^partita_event_loop_lag_seconds\{thread="main",process="2"\} 0.04$/m);
  assert.doesNotMatch(text, /partita_event_loop_lag_seconds\{thread="main"\}/, 'no summed gauge');
});
