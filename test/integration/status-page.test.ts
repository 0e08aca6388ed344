/**
 * The status page (`GET /`) in headless Chromium: against a `partita server`
 * consuming from the real broker (its group, every partition with its thread
 * and lag, counts and rate moving while messages arrive), and against a
 * swarm's /status shape served by the test (one section per process, fleet
 * totals, a process without status). Strings with HTML stay text, the CSP
 * lets the page run, and the page logs no console errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { STATUS_PAGE_HEADERS, STATUS_PAGE_HTML } from '../../src/http/status-page.ts';
import { httpUrlOf, startAppProcess, tempFile } from '../helpers/app.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { createTopic, produceIds, unique, waitFor } from '../helpers/kafka.ts';

const EVIL = '<img src=x onerror=alert(1)>';

interface Snapshot {
  totals: Record<string, string>;
  processes: Array<{ index: string; title: string; text: string; groups: Array<{ name: string; title: string; rows: Array<Record<string, string>> }>; threads: string[] }>;
  imgs: number;
  state: string;
  problem: string;
}

// A string, not a function: Playwright would send a function's source, and tsx's output of it
// can reference helpers that exist only in Node.
const SNAPSHOT = `(() => {
  const totals = {};
  for (const c of document.querySelectorAll('[data-total]')) totals[c.dataset.total] = c.querySelector('.value').textContent;
  const processes = [...document.querySelectorAll('section.process')].map((s) => ({
    index: s.dataset.process,
    title: s.querySelector('h2').textContent,
    text: s.textContent,
    groups: [...s.querySelectorAll('.group')].map((g) => ({
      name: g.dataset.group,
      title: g.querySelector('h3').textContent,
      rows: [...g.querySelectorAll('tr.partition')].map((tr) => Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.col, td.textContent]))),
    })),
    threads: [...s.querySelectorAll('tr.thread')].map((tr) => tr.dataset.thread),
  }));
  return { totals, processes, imgs: document.querySelectorAll('img').length, state: document.getElementById('state').textContent, problem: document.getElementById('problem').textContent };
})()`;

const snapshot = (page: Page) => page.evaluate<Snapshot>(SNAPSHOT);
/** A number as the page prints it ("1,234"); NaN for "–". */
const n = (text: string | undefined) => (text === undefined || text === '–' ? NaN : Number(text.replaceAll(',', '')));

async function until(page: Page, check: (s: Snapshot) => boolean, what: string, timeoutMs: number): Promise<Snapshot> {
  let last: Snapshot | undefined;
  await waitFor(
    async () => {
      last = await snapshot(page);
      return check(last);
    },
    what,
    timeoutMs,
    100,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; the page showed: ${JSON.stringify(last)}`);
  });
  return last!;
}

/** Console errors and uncaught exceptions of a page (a CSP violation is a console error too). */
function consoleErrors(page: Page, ignore: RegExp[] = []): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !ignore.some((r) => r.test(m.text()))) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  return errors;
}

test('GET / on a running server: its group with every partition, thread and lag, counts and rate moving as messages arrive; a group name with HTML is text', { timeout: 90_000 }, async () => {
  const topic = unique('status-page');
  const group = `${unique('status-page')} ${EVIL}`;
  await createTopic(topic, 4);
  await produceIds(topic, 0, 200);
  // Slow batches (10 messages per 250 ms per partition, ~160 msg/s): the second wave leaves lag for a few seconds.
  const app = startAppProcess({
    PARTITA_TEST_TOPIC: topic,
    PARTITA_TEST_GROUP: group,
    PARTITA_TEST_OUT: tempFile('records.jsonl'),
    PARTITA_TEST_DELAY_MS: '250',
    PARTITA_TEST_MAX_MESSAGES: '10',
    PARTITA_TEST_METRICS_INTERVAL_MS: '500',
  });
  const browser = await launchChromium();
  try {
    await waitFor(() => httpUrlOf(app) !== undefined || app.child.exitCode !== null, 'the http url in the log', 30_000, 20);
    const url = httpUrlOf(app);
    assert.ok(url, `the app did not start:\n${app.output()}`);

    const res = await fetch(`${url}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'sha256-/);
    assert.equal(await res.text(), STATUS_PAGE_HTML);

    const page = await browser.newPage();
    // /status answers 503 until the server has started (the page shows why); Chromium logs each such fetch as an error.
    const errors = consoleErrors(page, [/status of 503/]);
    await page.goto(`${url}/`);
    const first = await until(page, (s) => n(s.totals.processed) === 200 && s.processes[0]?.groups[0]?.rows.length === 4, 'the first 200 messages and 4 partitions on the page', 45_000);

    const [proc] = first.processes;
    assert.equal(first.processes.length, 1);
    assert.match(proc!.title, new RegExp(`^pid ${app.child.pid} running`));
    const g = proc!.groups[0]!;
    assert.equal(g.name, group, 'the group name, verbatim');
    assert.equal(g.title, `group ${group} joined`);
    assert.equal(first.imgs, 0, 'the HTML in the group name did not become an element');
    assert.deepEqual(
      g.rows.map((r) => [r.topic, r.partition]),
      [0, 1, 2, 3].map((p) => [topic, String(p)]),
    );
    for (const r of g.rows) {
      assert.match(r.thread!, /^\d+$/, `partition ${r.partition} on a worker thread`);
      assert.ok(first.processes[0]!.threads.includes(r.thread!), `thread ${r.thread} listed under worker threads`);
      assert.ok(Number.isInteger(n(r.lag)), `lag shown for partition ${r.partition}: ${r.lag}`);
    }
    assert.equal(
      g.rows.reduce((a, r) => a + n(r.processed), 0),
      200,
    );
    assert.equal(first.totals.failedBatches, '0');
    assert.equal(first.totals.deadLettered, '0');
    assert.match(first.state, /^running ready$/);

    // A second wave while the page is open: the counts climb, a rate and lag appear, then lag drains to 0.
    await produceIds(topic, 200, 1200);
    const processed = new Set<number>();
    let maxRate = 0;
    let maxLag = 0;
    let maxPartitionLag = 0;
    let maxPartitionRate = 0;
    const last = await until(
      page,
      (s) => {
        const rows = s.processes[0]?.groups[0]?.rows ?? [];
        processed.add(n(s.totals.processed));
        maxRate = Math.max(maxRate, n(s.totals.rate) || 0);
        maxLag = Math.max(maxLag, n(s.totals.lag) || 0);
        for (const r of rows) {
          maxPartitionLag = Math.max(maxPartitionLag, n(r.lag) || 0);
          maxPartitionRate = Math.max(maxPartitionRate, n(r.rate) || 0);
        }
        return n(s.totals.processed) === 1400 && n(s.totals.lag) === 0 && rows.every((r) => n(r.lag) === 0);
      },
      'all 1400 messages processed and lag back to 0 on the page',
      45_000,
    );
    const between = [...processed].filter((v) => v > 200 && v < 1400);
    assert.ok(between.length >= 3, `the processed count moved live: ${[...processed].join(', ')}`);
    assert.ok(maxRate > 20, `a consumption rate was shown (max ${maxRate} msg/s)`);
    assert.ok(maxPartitionRate > 0, 'a rate per partition was shown');
    assert.ok(maxLag > 0 && maxPartitionLag > 0, `lag rose while messages waited (max ${maxLag} in all, ${maxPartitionLag} in a partition)`);
    assert.equal(
      last.processes[0]!.groups[0]!.rows.reduce((a, r) => a + n(r.processed), 0),
      1400,
    );
    assert.deepEqual(errors, [], 'no console errors');
    await page.close();
  } finally {
    await browser.close();
    app.child.kill('SIGTERM');
  }
  assert.equal((await app.exited).code, 0, app.output());
});

/** A server's /status as src/main/status.ts describes it. */
function serverStatus(pid: number, processed: number, topic: string) {
  return {
    state: 'running',
    ready: true,
    pid,
    uptimeMs: 42_000,
    groups: [
      {
        name: 'billing',
        joined: true,
        assignment: { [topic]: [0, 1] },
        partitions: [0, 1].map((p) => ({ topic, partition: p, thread: 3 + p, processedMessages: processed / 2, processedOffset: processed / 2, committedOffset: processed / 2, queuedBatches: 0, inFlight: p === 0, paused: false, retrying: false, attempt: 1, lag: 5 * p, logEndOffset: processed / 2 + 5 * p })),
      },
    ],
    processedMessages: processed,
    failedBatches: 1,
    retries: 2,
    deadLettered: 3,
    threadsLost: 1,
    threads: { 3: [`billing/${topic}/0`], 4: [`billing/${topic}/1`] },
    pool: { size: 2, threads: 2, ready: 2, broken: 0, waiting: 0, replacing: false, noReadyThreadMs: 0, destroyed: false },
  };
}

test("GET / with a swarm's /status: a section per process with pid, state and restarts, fleet totals and rate; 503 while starting is shown; a topic name with HTML is text", { timeout: 60_000 }, async () => {
  const origin = 'http://status-page.test';
  let polls = 0;
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    // Chromium logs every non-2xx fetch as a console error: the one 503 below is on purpose.
    const errors = consoleErrors(page, [/status of 503/]);
    // The page as the HTTP server sends it (with its CSP), and a swarm supervisor's /status.
    await page.route(`${origin}/`, (route) => route.fulfill({ status: 200, headers: { ...STATUS_PAGE_HEADERS }, body: STATUS_PAGE_HTML }));
    await page.route(`${origin}/status`, (route) => {
      polls += 1;
      if (polls === 1) return route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: 'starting', message: 'the swarm is starting' }) });
      const processed = 1000 + 200 * polls; // process 0 consumes 200 messages per poll
      const body = {
        swarm: true,
        state: 'running',
        ready: false,
        processes: [
          { index: 0, pid: 101, state: 'running', restarts: 0, downForMs: 0, status: serverStatus(101, processed, EVIL) },
          { index: 1, pid: null, state: 'restarting', restarts: 2, lastExit: 'killed by SIGKILL', downForMs: 800, status: null },
          { index: 2, pid: 103, state: 'running', restarts: 0, downForMs: 0, status: serverStatus(103, 500, 'audit') },
        ],
      };
      return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
    });
    await page.goto(`${origin}/`);
    await until(page, (s) => s.problem === 'the swarm is starting', 'the 503 message on the page', 10_000);
    const s = await until(page, (x) => x.processes.length === 3 && n(x.totals.rate) > 0 && x.problem === '', 'three processes and a rate', 15_000);

    assert.match(s.state, /^swarm running not ready$/);
    assert.deepEqual(
      s.processes.map((p) => p.title),
      ['process 0 pid 101 running', 'process 1 pid – restarting 2 restarts', 'process 2 pid 103 running'],
    );
    assert.match(s.processes[1]!.text, /last run: killed by SIGKILL/);
    assert.match(s.processes[1]!.text, /no status from this process \(restarting\)/);
    assert.equal(s.totals.processes, '2 / 3');
    assert.equal(s.totals.restarts, '2');
    assert.ok(n(s.totals.processed) >= 1000 + 200 * 2 + 500, `fleet processed ${s.totals.processed}`);
    assert.equal(s.totals.failedBatches, '2');
    assert.equal(s.totals.retries, '4');
    assert.equal(s.totals.deadLettered, '6');
    assert.equal(s.totals.threadsLost, '2');
    assert.equal(s.totals.lag, '10');
    // ~200 messages per ~1 s poll, from process 0 only (process 2's count stands still).
    assert.ok(n(s.totals.rate) > 100 && n(s.totals.rate) <= 250, `fleet rate ${s.totals.rate}`);

    const evilRows = s.processes[0]!.groups[0]!.rows;
    assert.deepEqual(
      evilRows.map((r) => [r.topic, r.partition, r.thread]),
      [
        [EVIL, '0', '3'],
        [EVIL, '1', '4'],
      ],
    );
    assert.equal(s.imgs, 0, 'the HTML in the topic name did not become an element');
    assert.deepEqual(s.processes[2]!.groups[0]!.rows.map((r) => r.rate), ['0', '0']);
    assert.deepEqual(errors, [], 'no console errors');
  } finally {
    await browser.close();
  }
});
