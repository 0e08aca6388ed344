/**
 * The status page's pure part (STATUS_PAGE_MODEL_JS), evaluated exactly as the
 * browser gets it: both shapes of /status into one view, rates from counter
 * deltas, fleet totals; and the page document and its CSP. (That strings from
 * /status stay text in the DOM is checked in Chromium: test/integration/status-page.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import vm from 'node:vm';
import { STATUS_PAGE_HEADERS, STATUS_PAGE_HTML, STATUS_PAGE_MODEL_JS } from '../../src/http/status-page.ts';

interface Row {
  key: string;
  topic: string;
  partition: number;
  thread: string | undefined;
  processedMessages: number | undefined;
  lag: number | undefined;
  activity: { text: string; level: string };
}
interface ProcessView {
  key: string;
  index: number;
  pid: number | null;
  state: string;
  restarts: number;
  note: string | undefined;
  server: null | {
    processedMessages: number | undefined;
    failedBatches: number | undefined;
    pool: null | { health: { text: string; level: string } };
    threads: Array<{ id: string; partitions: string[] }>;
    groups: Array<{ name: string; joined: boolean; partitions: Row[] }>;
  };
}
interface View {
  swarm: boolean;
  state: string;
  ready: boolean;
  processes: ProcessView[];
}
type Counts = Record<string, number>;
interface Sample {
  at: number;
  counts: Counts;
}
interface Model {
  toView(raw: unknown): View;
  countsOf(view: View): Counts;
  rates(older: Sample | undefined, newer: Sample | undefined): Record<string, number>;
  keepWindow(samples: Sample[], sample: Sample, windowMs: number): Sample[];
  totals(view: View, rates: Record<string, number>): Record<string, number | undefined>;
  fmtRate(r: number | undefined): string;
  fmtDuration(ms: number | undefined): string;
}

// Objects made in the vm context have that context's prototypes: a JSON round trip makes them comparable with deepEqual.
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const model = vm.runInNewContext(`'use strict';\n${STATUS_PAGE_MODEL_JS}\n({ toView, countsOf, rates, keepWindow, totals, fmtRate, fmtDuration })`) as Model;

const partition = (topic: string, n: number, o: Record<string, unknown> = {}) => ({
  topic,
  partition: n,
  thread: 7 + (n % 2),
  processedMessages: 10 * (n + 1),
  processedOffset: 10 * (n + 1) - 1,
  committedOffset: 10 * (n + 1),
  queuedBatches: 0,
  inFlight: false,
  paused: false,
  retrying: false,
  attempt: 1,
  lag: n,
  logEndOffset: 10 * (n + 1) + n,
  ...o,
});

/** A server's /status (src/main/status.ts plus state/ready, as http-server.ts sends it). */
function serverStatus(pid: number, processed: number, o: Record<string, unknown> = {}) {
  return {
    state: 'running',
    ready: true,
    pid,
    uptimeMs: 65_000,
    groups: [{ name: 'orders-group', joined: true, assignment: { orders: [0, 1, 2] }, partitions: [partition('orders', 0), partition('orders', 1, { retrying: true, attempt: 3 })] }],
    processedMessages: processed,
    failedBatches: 2,
    retries: 3,
    deadLettered: 1,
    threadsLost: 0,
    threads: { 7: ['orders-group/orders/0'], 8: ['orders-group/orders/1'] },
    pool: { size: 2, threads: 2, ready: 2, broken: 0, waiting: 0, replacing: false, noReadyThreadMs: 0, destroyed: false },
    ...o,
  };
}

test("a server's /status is a view of one process: its groups, every assigned partition, threads, pool", () => {
  const view = plain(model.toView(serverStatus(4242, 30)));
  assert.equal(view.swarm, false);
  assert.equal(view.state, 'running');
  assert.equal(view.ready, true);
  assert.equal(view.processes.length, 1);
  const [p] = view.processes;
  assert.equal(p!.pid, 4242);
  assert.equal(p!.state, 'running');
  assert.equal(p!.restarts, 0);
  const g = p!.server!.groups[0]!;
  assert.equal(g.name, 'orders-group');
  // Partition 2 is assigned but has not been fetched from: it has a row too.
  assert.deepEqual(
    g.partitions.map((r) => [r.topic, r.partition, r.thread, r.lag]),
    [
      ['orders', 0, '7', 0],
      ['orders', 1, '8', 1],
      ['orders', 2, undefined, undefined],
    ],
  );
  assert.equal(g.partitions[1]!.activity.text, 'retrying (attempt 3)');
  assert.equal(g.partitions[2]!.activity.text, 'assigned, nothing fetched yet');
  assert.deepEqual(p!.server!.threads, [{ id: '7', partitions: ['orders-group/orders/0'] }, { id: '8', partitions: ['orders-group/orders/1'] }]);
  assert.deepEqual(p!.server!.pool!.health, { text: 'healthy', level: 'ok' });
});

test("a swarm's /status is a view per process slot, with its pid, state, restarts and why it is down", () => {
  const swarm = {
    swarm: true,
    state: 'running',
    ready: false,
    processes: [
      { index: 0, pid: 101, state: 'running', restarts: 0, downForMs: 0, status: serverStatus(101, 100) },
      { index: 1, pid: 102, state: 'running', restarts: 2, lastExit: 'killed by SIGKILL', downForMs: 0, status: serverStatus(102, 50, { pool: { size: 2, threads: 2, ready: 0, broken: 2, waiting: 5, replacing: true, noReadyThreadMs: 12_000, destroyed: false } }) },
      { index: 2, pid: null, state: 'restarting', restarts: 3, status: null, error: 'exited with code 1' },
    ],
  };
  const view = plain(model.toView(swarm));
  assert.equal(view.swarm, true);
  assert.equal(view.ready, false);
  assert.deepEqual(
    view.processes.map((p) => [p.index, p.pid, p.state, p.restarts, p.note ?? '', p.server === null]),
    [
      [0, 101, 'running', 0, '', false],
      [1, 102, 'running', 2, 'last run: killed by SIGKILL', false],
      [2, null, 'restarting', 3, 'exited with code 1', true],
    ],
  );
  assert.deepEqual(view.processes[1]!.server!.pool!.health, { text: 'no ready thread for 12 s', level: 'bad' });
  // The same partition in two processes (before a rebalance settles) keeps two rows and two keys.
  assert.notEqual(view.processes[0]!.server!.groups[0]!.partitions[0]!.key, view.processes[1]!.server!.groups[0]!.partitions[0]!.key);

  const t = plain(model.totals(view, {}));
  assert.deepEqual(t, {
    processes: 3,
    running: 2,
    reporting: 2,
    restarts: 5,
    processedMessages: 150,
    failedBatches: 4,
    retries: 6,
    deadLettered: 2,
    threadsLost: 0,
    partitions: 6,
    lag: 2,
  });
});

test('rates: messages per second from processedMessages deltas, per process and per partition', () => {
  const v1 = model.toView(serverStatus(4242, 1000));
  const v2 = model.toView(serverStatus(4242, 1500, { groups: [{ name: 'orders-group', joined: true, assignment: { orders: [0, 1] }, partitions: [partition('orders', 0, { processedMessages: 410 }), partition('orders', 1, { processedMessages: 20 })] }] }));
  const s1 = { at: 10_000, counts: model.countsOf(v1) };
  const s2 = { at: 12_000, counts: model.countsOf(v2) };
  const r = model.rates(s1, s2);
  const [p] = v2.processes;
  const rows = p!.server!.groups[0]!.partitions;
  assert.equal(r[p!.key], 250); // (1500 − 1000) / 2 s
  assert.equal(r[rows[0]!.key], 200); // (410 − 10) / 2 s
  assert.equal(r[rows[1]!.key], 0);
  assert.equal(model.totals(v2, r).rate, 250);
  // One sample, or none yet: no rate rather than a made-up 0.
  assert.equal(Object.keys(model.rates(s2, s2)).length, 0);
  assert.equal(Object.keys(model.rates(undefined, s2)).length, 0);
  assert.equal(model.totals(v2, {}).rate, undefined);
});

test('rates: a restarted process (new pid) or a counter that went down has no rate, never a negative one', () => {
  const before = model.toView({ swarm: true, state: 'running', ready: true, processes: [{ index: 0, pid: 1, state: 'running', restarts: 0, status: serverStatus(1, 900) }] });
  const after = model.toView({ swarm: true, state: 'running', ready: true, processes: [{ index: 0, pid: 2, state: 'running', restarts: 1, status: serverStatus(2, 30) }] });
  const r = model.rates({ at: 0, counts: model.countsOf(before) }, { at: 1000, counts: model.countsOf(after) });
  assert.deepEqual(plain(r), {});
  const server = (n: number) => model.toView(serverStatus(7, n));
  const down = model.rates({ at: 0, counts: model.countsOf(server(500)) }, { at: 1000, counts: model.countsOf(server(400)) });
  assert.equal(down[server(400).processes[0]!.key], undefined);
  // Fleet totals sum only the rates known.
  const two = model.toView({ swarm: true, state: 'running', ready: true, processes: [{ index: 0, pid: 1, state: 'running', restarts: 0, status: serverStatus(1, 0) }, { index: 1, pid: 2, state: 'running', restarts: 0, status: serverStatus(2, 0) }] });
  assert.equal(model.totals(two, { 'p0:1': 12.5, 'p1:2': 7.5 }).rate, 20);
});

test('keepWindow keeps a few seconds of samples (and at least the previous one), newest last', () => {
  const s = (at: number) => ({ at, counts: {} });
  let samples: Sample[] = [];
  for (const at of [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000]) samples = model.keepWindow(samples, s(at), 5000);
  assert.deepEqual(samples.map((x) => x.at), [2000, 3000, 4000, 5000, 6000, 7000]);
  // After a long pause (a background tab), the previous sample still gives a rate.
  assert.deepEqual(model.keepWindow(samples, s(60_000), 5000).map((x) => x.at), [7000, 60_000]);
});

test('odd input: missing fields, wrong types and an error body do not throw and show as unknown', () => {
  const view = plain(model.toView({ state: 'running', groups: [{ name: 5, partitions: [{ topic: 'x', partition: 0, thread: 'inline', lag: 'many' }] }], threads: null }));
  const row = view.processes[0]!.server!.groups[0]!.partitions[0]!;
  assert.equal(view.processes[0]!.server!.groups[0]!.name, '5');
  assert.equal(row.thread, 'inline');
  assert.equal(row.lag, undefined);
  assert.equal(view.processes[0]!.pid, null);
  assert.doesNotThrow(() => model.totals(model.toView(null), {}));
  assert.doesNotThrow(() => model.toView({ swarm: true, processes: [null, 3, { status: 'x' }] }));
  assert.equal(model.fmtRate(undefined), '–');
  assert.equal(model.fmtRate(2.345), '2.3');
  assert.equal(model.fmtRate(1234.5), '1,235');
  assert.equal(model.fmtDuration(3_725_000), '1 h 2 min');
});

test('strings from /status are carried as data, unchanged (the DOM gets them as text: see the browser test)', () => {
  const evil = '<img src=x onerror=alert(1)>';
  const view = plain(model.toView(serverStatus(1, 0, { groups: [{ name: evil, joined: true, assignment: {}, partitions: [partition(evil, 0)] }], threads: { 7: [`${evil}/${evil}/0`] } })));
  assert.equal(view.processes[0]!.server!.groups[0]!.name, evil);
  assert.equal(view.processes[0]!.server!.groups[0]!.partitions[0]!.topic, evil);
  assert.deepEqual(view.processes[0]!.server!.threads[0]!.partitions, [`${evil}/${evil}/0`]);
});

test('the page: self-contained, polls a relative status URL, never inserts markup from data; its CSP allows exactly its inline script and style', () => {
  assert.doesNotMatch(STATUS_PAGE_HTML, /(src|href)="(https?:)?\/\//, 'no external assets');
  assert.match(STATUS_PAGE_HTML, /fetch\('status'/, 'relative URL: works behind a path prefix');
  assert.doesNotMatch(STATUS_PAGE_HTML, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  const csp = STATUS_PAGE_HEADERS['content-security-policy']!;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /connect-src 'self'/);
  const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
  const script = /<script>([\s\S]*)<\/script>/.exec(STATUS_PAGE_HTML)![1]!;
  const style = /<style>([\s\S]*)<\/style>/.exec(STATUS_PAGE_HTML)![1]!;
  assert.ok(csp.includes(`script-src ${hash(script)}`), 'script hash matches the inline script');
  assert.ok(csp.includes(`style-src ${hash(style)}`), 'style hash matches the inline style');
  assert.equal(STATUS_PAGE_HEADERS['content-type'], 'text/html; charset=utf-8');
});
