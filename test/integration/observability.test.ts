/**
 * Observability against a real broker and a real Prometheus: the exposition
 * counts exactly what was processed (values measured on the worker threads),
 * lag falls to 0, promtool accepts the exposition, every PromQL expression of
 * the Grafana dashboard parses and returns data from a Prometheus that
 * scraped the app, /ready waits for the group join, and /health fails when
 * no worker thread can run the app.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHttpServer, type Server } from '../../src/index.ts';
import { createTopic, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { ROOT, RECORDING_BOOT, httpUrlOf, messageRecords, runCli, startAppProcess, startServer, tempFile } from '../helpers/app.ts';
import { Prometheus, promtoolCheckMetrics } from '../helpers/prometheus.ts';

const FRAGILE_BOOT = join(ROOT, 'test/fixtures/fragile.config.ts');

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text exposition's sample lines (enough for our own output: no escaped quotes in label values). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of m[2]?.matchAll(/(\w+)="([^"]*)"/g) ?? []) labels[k!] = v!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

function sum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

async function get(url: string): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** Every PromQL expression in the dashboard: panel targets and the selectors inside label_values() variables. */
function dashboardExpressions(): string[] {
  const dash = JSON.parse(readFileSync(join(ROOT, 'grafana/partita-dashboard.json'), 'utf8')) as {
    panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    templating: { list: Array<{ type: string; query?: { query: string } }> };
  };
  const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr));
  for (const v of dash.templating.list) {
    const m = v.type === 'query' ? /^label_values\((.*),\s*\w+\)$/.exec(v.query!.query) : null;
    if (v.type === 'query') assert.ok(m, `variable query is label_values(selector, label): ${v.query?.query}`);
    if (m) exprs.push(m[1]!);
  }
  return exprs;
}

test('metrics: exact counts from worker threads, lag to 0, promtool-valid, and every dashboard query answered by a real Prometheus', { timeout: 240_000 }, async () => {
  const topic = unique('metrics');
  const group = unique('metrics-group');
  const out = tempFile('records.jsonl');
  await createTopic(topic, 6);
  const server: Server = await startServer(RECORDING_BOOT, 'metrics', {
    PARTITA_TEST_TOPIC: topic,
    PARTITA_TEST_GROUP: group,
    PARTITA_TEST_OUT: out,
    PARTITA_TEST_CONCURRENCY: '2',
    PARTITA_TEST_METRICS_INTERVAL_MS: '300',
  });
  const http = await startHttpServer(server, { host: '127.0.0.1', port: 0, maxEventLoopLagMs: 5000, poolDeadAfterMs: 10_000 });
  let prometheus: Prometheus | undefined;
  try {
    prometheus = await Prometheus.start(new URL(http.url).host);
    const N = 3000;
    await produceIds(topic, 0, N);
    await waitFor(() => messageRecords(out).length >= N, `${N} records`, 60_000);

    // Lag is refreshed from Kafka every 300 ms; commits every 200 ms.
    let samples: Sample[] = [];
    await waitFor(
      async () => {
        samples = parseExposition((await get(`${http.url}/metrics`)).text);
        const lags = samples.filter((s) => s.name === 'partita_consumer_lag_messages' && s.labels.topic === topic);
        return lags.length === 6 && lags.every((s) => s.value === 0);
      },
      'lag of all 6 partitions to reach 0',
      30_000,
      200,
    );
    const byTopic = { consumer_group: group, topic };
    assert.equal(sum(samples, 'partita_messages_consumed_total', byTopic), N, 'consumed, summed over partitions');
    assert.equal(sum(samples, 'partita_messages_fetched_total', byTopic), N);
    assert.equal(sum(samples, 'partita_message_processing_seconds_count', byTopic), N, 'one per-message observation per message');
    const batches = sum(samples, 'partita_batches_consumed_total', byTopic);
    assert.ok(batches > 0);
    assert.equal(sum(samples, 'partita_batch_processing_seconds_count', byTopic), batches);
    assert.equal(sum(samples, 'partita_batch_processing_seconds_bucket', { ...byTopic, le: '+Inf' }), batches);
    assert.ok(sum(samples, 'partita_batch_processing_seconds_sum', byTopic) > 0);
    assert.equal(sum(samples, 'partita_assigned_partitions', { consumer_group: group }), 6);
    assert.ok(sum(samples, 'partita_rebalances_total', { consumer_group: group }) >= 1);

    // Values from the worker threads: busy time per worker thread id, and each worker's own runtime metrics.
    const workers = Object.keys(server.status().threads);
    assert.equal(workers.length, 2);
    const busyThreads = samples.filter((s) => s.name === 'partita_worker_busy_seconds_total' && s.value > 0).map((s) => s.labels.thread);
    assert.ok(busyThreads.length > 0 && busyThreads.every((t) => workers.includes(t!)), `busy time from worker threads ${workers}, got ${busyThreads}`);
    await waitFor(
      async () => {
        const s = parseExposition((await get(`${http.url}/metrics`)).text);
        return workers.every((w) => s.some((x) => x.name === 'nodejs_heap_size_used_bytes' && x.labels.thread === w && x.value > 0) && s.some((x) => x.name === 'partita_event_loop_utilization_ratio' && x.labels.thread === w));
      },
      'runtime metrics of each worker thread',
      10_000,
    );

    const metrics = await get(`${http.url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.type, /^text\/plain; version=0\.0\.4/);
    const lint = promtoolCheckMetrics(metrics.text);
    assert.equal(lint.code, 0, `promtool check metrics: ${lint.output}`);

    const status = JSON.parse((await get(`${http.url}/status`)).text) as { ready: boolean; groups: Array<{ name: string; partitions: Array<{ thread: number; lag: number; committedOffset: number; logEndOffset: number }> }> };
    assert.equal(status.ready, true);
    const g = status.groups.find((x) => x.name === group)!;
    assert.equal(g.partitions.length, 6);
    for (const p of g.partitions) {
      assert.ok(workers.includes(String(p.thread)), `partition on a worker thread, got ${p.thread}`);
      assert.equal(p.lag, 0);
      assert.equal(p.committedOffset, p.logEndOffset);
    }
    assert.equal((await get(`${http.url}/ready`)).status, 200);
    assert.equal((await get(`${http.url}/health`)).status, 200);
    const missing = await get(`${http.url}/nope?x=1`);
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.text).path, '/nope');

    // Prometheus has scraped the same numbers.
    await waitFor(async () => (await prometheus!.value(`sum(partita_messages_consumed_total{topic="${topic}"})`)) === N, 'prometheus to scrape the consumed count', 30_000, 500);
    // A second wave, so rates over the last seconds are not all zero, then every dashboard query.
    await produceIds(topic, N, 1000);
    await waitFor(() => messageRecords(out).length >= N + 1000, `${N + 1000} records`, 60_000);
    await new Promise((r) => setTimeout(r, 3000));
    const problems: string[] = [];
    const exprs = dashboardExpressions();
    assert.ok(exprs.length >= 20, `dashboard has its queries (${exprs.length})`);
    for (const raw of exprs) {
      const expr = raw.replaceAll('$consumer_group', group).replaceAll('$topic', topic).replaceAll('$__rate_interval', '30s');
      const r = await prometheus.query(expr);
      if (r.status !== 'success') problems.push(`${raw}\n    → ${r.error}`);
      else if (r.data!.result.length === 0) problems.push(`${raw}\n    → no data`);
    }
    assert.deepEqual(problems, [], `dashboard queries failing:\n${problems.join('\n')}`);
    assert.ok((await prometheus.value(`sum(increase(partita_messages_consumed_total{topic="${topic}"}[5m]))`))! > 0);
  } finally {
    await prometheus?.stop();
    await http.close();
    await server.stop();
  }
});

test('/health fails when no worker thread can load the app, and says why', { timeout: 120_000 }, async () => {
  const topic = unique('health');
  const breakFile = tempFile('broken');
  await createTopic(topic, 2);
  const server = await startServer(FRAGILE_BOOT, 'health', {
    PARTITA_TEST_TOPIC: topic,
    PARTITA_TEST_GROUP: unique('health-group'),
    PARTITA_TEST_OUT: tempFile('records.jsonl'),
    PARTITA_TEST_CONCURRENCY: '2',
    PARTITA_TEST_BREAK_FILE: breakFile,
  });
  const http = await startHttpServer(server, { host: '127.0.0.1', port: 0, maxEventLoopLagMs: 5000, poolDeadAfterMs: 1000 });
  try {
    await waitFor(() => server.ready, 'joined', 30_000);
    assert.equal((await get(`${http.url}/health`)).status, 200);
    writeFileSync(breakFile, 'x');
    for (const id of Object.keys(server.status().threads)) await server.terminateThread(Number(id));
    let body: { status: string; problems: string[]; pool: { ready: number; broken: number } } | undefined;
    await waitFor(
      async () => {
        const r = await get(`${http.url}/health`);
        body = JSON.parse(r.text);
        // Under load the replacements may still be starting when the 1 s limit passes (503 already); wait for their verdict.
        return r.status === 503 && body!.pool.broken === 2;
      },
      '/health to report the dead pool and why',
      60_000,
      200,
    );
    assert.equal(body!.status, 'unhealthy');
    assert.equal(body!.pool.ready, 0);
    assert.equal(body!.pool.broken, 2);
    assert.match(body!.problems.join('\n'), /no worker thread has been able to run tasks .* could not load the boot file/);
  } finally {
    await http.close();
    await server.stop();
  }
});

test('partita server: /ready is 503 until the group is joined, then 200; bad --http-port and a taken port are clear errors', { timeout: 120_000 }, async () => {
  const topic = unique('ready');
  const group = unique('ready-group');
  await createTopic(topic, 2);
  const env = { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: group, PARTITA_TEST_OUT: tempFile('records.jsonl') };
  const app = startAppProcess(env);
  try {
    await waitFor(() => httpUrlOf(app) !== undefined, 'http url in the log', 30_000, 20);
    const url = httpUrlOf(app)!;
    const seen: Array<{ status: number; ready: boolean }> = [];
    await waitFor(
      async () => {
        const r = await get(`${url}/ready`);
        seen.push({ status: r.status, ready: JSON.parse(r.text).ready });
        return r.status === 200;
      },
      '/ready to turn 200',
      60_000,
      25,
    );
    assert.deepEqual(seen[0], { status: 503, ready: false }, 'not ready while starting');
    assert.ok(seen.slice(0, -1).every((s) => s.status === 503 && !s.ready));
    const status = JSON.parse((await get(`${url}/status`)).text) as { groups: Array<{ name: string; joined: boolean; assignment: Record<string, number[]> }> };
    assert.deepEqual(status.groups.map((g) => [g.name, g.joined, g.assignment[topic]?.length]), [[group, true, 2]]);

    // Another process on the same port fails with HTTP_LISTEN_FAILED before touching Kafka.
    const port = new URL(url).port;
    const taken = await runCli(['server', '--boot', RECORDING_BOOT, '--http-port', port], env);
    assert.equal(taken.code, 1);
    assert.match(taken.output, /error \[HTTP_LISTEN_FAILED\]: cannot serve metrics on http:\/\/127\.0\.0\.1:\d+: the port is in use/);
  } finally {
    app.child.kill('SIGTERM');
  }
  assert.equal((await app.exited).code, 0, app.output());
  const bad = await runCli(['server', '--boot', RECORDING_BOOT, '--http-port', 'ninety']);
  assert.equal(bad.code, 2);
  assert.match(bad.output, /--http-port must be a port number 0-65535, got "ninety"/);
});
