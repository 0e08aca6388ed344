/**
 * The live status page (`GET /`): one static HTML document with a small inline
 * stylesheet and script that polls `/status` about once a second. No build
 * step and no external assets, so it works offline and behind a firewall.
 *
 * It renders either shape of `/status`: a server's (one process) or a swarm
 * supervisor's (`{ swarm: true, processes: [...] }`, each with its server's
 * status or null). It shows only what `/status` returns — runtime state,
 * never configuration — and puts every string from it into the DOM as text
 * (textContent and text nodes; never innerHTML), so a group or topic name
 * cannot become markup.
 *
 * The script is kept as plain JavaScript strings rather than built from
 * TypeScript functions with `.toString()`: what a function's source looks
 * like after tsx/esbuild (helpers such as `__name`) or tsc would differ
 * between running from source and from dist/, and the browser would get code
 * nobody tested. Here the bytes the browser runs are the bytes the unit test
 * evaluates: STATUS_PAGE_MODEL_JS is the pure part (normalising both shapes
 * into one view model, rates, totals, formatting) and runs under node:vm in
 * test/unit/status-page.test.ts; STATUS_PAGE_UI_JS is the DOM part, exercised
 * in headless Chromium by test/integration/status-page.test.ts.
 *
 * Content-Security-Policy: the inline <script> and <style> are allowed by
 * their SHA-256 hashes (computed below from the exact text), everything else
 * is denied except fetching from the same origin. Hashes rather than separate
 * /status-page.js and .css routes: the page stays one response that any HTTP
 * endpoint (a server's, the swarm's) can serve at `/` with the headers below,
 * and rather than a nonce: the page is static, so a per-response nonce would
 * only add rewriting the HTML on every request.
 */
import { createHash } from 'node:crypto';

/**
 * Pure functions (no DOM): `/status` JSON of either shape → view model,
 * counters → rates, view → fleet totals, number formatting. Evaluated as is
 * by the unit test (see the header comment).
 */
export const STATUS_PAGE_MODEL_JS = String.raw`
// Anything from /status is untrusted input: read it defensively, keep strings as strings.
function num(v) { return typeof v === 'number' && Number.isFinite(v) ? v : undefined; }
function str(v, fallback) { return typeof v === 'string' ? v : v === undefined || v === null ? fallback : String(v); }
function obj(v) { return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {}; }
function arr(v) { return Array.isArray(v) ? v : []; }

// One process of the view. A process's key includes its pid, so a restarted
// process starts new counters instead of showing a negative rate.
function processView(slot, status) {
  const index = num(slot.index) ?? 0;
  const pid = num(slot.pid) ?? null;
  const key = 'p' + index + ':' + (pid ?? '-');
  const note = typeof slot.error === 'string' ? slot.error : typeof slot.lastExit === 'string' ? 'last run: ' + slot.lastExit : undefined;
  const s = status !== null && typeof status === 'object' && !Array.isArray(status) ? status : null;
  return { key, index, pid, state: str(slot.state, 'unknown'), restarts: num(slot.restarts) ?? 0, note, server: s ? serverView(s, key) : null };
}

function activityOf(p, fetched) {
  const corrupt = num(p.corruptFrom);
  if (corrupt !== undefined) return { text: 'records unreadable from offset ' + corrupt, level: 'bad' };
  if (p.retrying === true) return { text: 'retrying (attempt ' + (num(p.attempt) ?? '?') + ')', level: 'warn' };
  if (p.paused === true) return { text: 'paused', level: 'warn' };
  if (p.inFlight === true) return { text: 'consuming', level: 'ok' };
  if ((num(p.queuedBatches) ?? 0) > 0) return { text: 'queued', level: 'ok' };
  return fetched ? { text: 'idle', level: 'idle' } : { text: 'assigned, nothing fetched yet', level: 'idle' };
}

function partitionView(processKey, group, p, fetched) {
  const topic = str(p.topic, '?');
  const partition = num(p.partition) ?? -1;
  const thread = p.thread === 'inline' ? 'inline' : num(p.thread) !== undefined ? String(p.thread) : undefined;
  return {
    key: JSON.stringify([processKey, group, topic, partition]),
    topic, partition, thread,
    processedMessages: num(p.processedMessages),
    processedOffset: num(p.processedOffset),
    committedOffset: num(p.committedOffset),
    logEndOffset: num(p.logEndOffset),
    lag: num(p.lag),
    queuedBatches: num(p.queuedBatches),
    activity: activityOf(p, fetched),
  };
}

function groupView(processKey, g0) {
  const g = obj(g0);
  const name = str(g.name, '?');
  const rows = arr(g.partitions).map((p) => partitionView(processKey, name, obj(p), true));
  // Partitions assigned but not fetched from yet have no entry in partitions: list them
  // too, so every partition this process owns has a row from the moment it joins.
  for (const [topic, parts] of Object.entries(obj(g.assignment))) {
    for (const n of arr(parts)) {
      if (typeof n === 'number' && !rows.some((r) => r.topic === topic && r.partition === n)) rows.push(partitionView(processKey, name, { topic, partition: n }, false));
    }
  }
  rows.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  return { name, joined: g.joined === true, partitions: rows };
}

function poolView(p0) {
  const p = obj(p0);
  const v = { size: num(p.size), threads: num(p.threads), ready: num(p.ready), broken: num(p.broken) ?? 0, waiting: num(p.waiting) ?? 0, replacing: p.replacing === true, noReadyThreadMs: num(p.noReadyThreadMs) ?? 0, destroyed: p.destroyed === true };
  let health;
  if (v.destroyed) health = { text: 'pool destroyed', level: 'bad' };
  else if (v.ready === 0) health = { text: 'no ready thread for ' + fmtDuration(v.noReadyThreadMs), level: 'bad' };
  else if (v.broken > 0 || v.replacing || (v.size !== undefined && v.ready !== undefined && v.ready < v.size)) health = { text: 'degraded', level: 'warn' };
  else health = { text: 'healthy', level: 'ok' };
  return Object.assign(v, { health });
}

function serverView(s, key) {
  const threads = Object.entries(obj(s.threads))
    .map(([id, parts]) => ({ id, partitions: arr(parts).map((x) => str(x, '')) }))
    .sort((a, b) => Number(a.id) - Number(b.id));
  return {
    state: str(s.state, 'unknown'),
    ready: s.ready === true,
    uptimeMs: num(s.uptimeMs),
    processedMessages: num(s.processedMessages),
    failedBatches: num(s.failedBatches),
    retries: num(s.retries),
    deadLettered: num(s.deadLettered),
    threadsLost: num(s.threadsLost),
    pool: s.pool ? poolView(s.pool) : null,
    threads,
    groups: arr(s.groups).map((g) => groupView(key, g)),
  };
}

// Either shape of /status → { swarm, state, ready, processes: [...] }. A server is a swarm of one.
function toView(raw) {
  const r = obj(raw);
  if (r.swarm === true) {
    return { swarm: true, state: str(r.state, 'unknown'), ready: r.ready === true, processes: arr(r.processes).map((p) => processView(obj(p), obj(p).status)) };
  }
  return { swarm: false, state: str(r.state, 'unknown'), ready: r.ready === true, processes: [processView({ index: 0, pid: r.pid, state: r.state, restarts: 0 }, r)] };
}

// Monotonic counters of a view by key: each process's and each partition's processed messages.
function countsOf(view) {
  const counts = {};
  for (const p of view.processes) {
    if (!p.server) continue;
    if (p.server.processedMessages !== undefined) counts[p.key] = p.server.processedMessages;
    for (const g of p.server.groups) for (const row of g.partitions) if (row.processedMessages !== undefined) counts[row.key] = row.processedMessages;
  }
  return counts;
}

// Messages per second between two samples ({ at: ms, counts }), per key. A key missing
// from either sample or whose counter went down (a restart, a partition re-assigned) has no rate.
function rates(older, newer) {
  const out = {};
  if (!older || !newer) return out;
  const seconds = (newer.at - older.at) / 1000;
  if (!(seconds > 0)) return out;
  for (const k of Object.keys(newer.counts)) {
    if (!Object.prototype.hasOwnProperty.call(older.counts, k)) continue;
    const delta = newer.counts[k] - older.counts[k];
    if (delta >= 0) out[k] = delta / seconds;
  }
  return out;
}

// Keeps the samples of the last windowMs (and at least the previous one), newest last:
// rates over a few seconds instead of one poll's jitter.
function keepWindow(samples, sample, windowMs) {
  const kept = samples.filter((s) => s.at < sample.at && s.at >= sample.at - windowMs);
  if (kept.length === 0 && samples.length > 0 && samples[samples.length - 1].at < sample.at) kept.push(samples[samples.length - 1]);
  kept.push(sample);
  return kept;
}

// Fleet totals (for a server: its own numbers).
function totals(view, rateByKey) {
  const t = { processes: view.processes.length, running: 0, reporting: 0, restarts: 0, processedMessages: 0, rate: undefined, failedBatches: 0, retries: 0, deadLettered: 0, threadsLost: 0, partitions: 0, lag: 0 };
  for (const p of view.processes) {
    t.restarts += p.restarts;
    if (p.state === 'running') t.running += 1;
    if (!p.server) continue;
    t.reporting += 1;
    t.processedMessages += p.server.processedMessages ?? 0;
    t.failedBatches += p.server.failedBatches ?? 0;
    t.retries += p.server.retries ?? 0;
    t.deadLettered += p.server.deadLettered ?? 0;
    t.threadsLost += p.server.threadsLost ?? 0;
    const r = rateByKey[p.key];
    if (r !== undefined) t.rate = (t.rate ?? 0) + r;
    for (const g of p.server.groups) {
      for (const row of g.partitions) {
        t.partitions += 1;
        t.lag += row.lag ?? 0;
      }
    }
  }
  return t;
}

function fmtNumber(n) { return n === undefined || n === null ? '–' : Math.round(n).toLocaleString('en-US'); }
function fmtRate(r) { return r === undefined ? '–' : r >= 100 ? Math.round(r).toLocaleString('en-US') : r.toFixed(r > 0 && r < 10 ? 1 : 0); }
function fmtDuration(ms) {
  if (ms === undefined) return '–';
  const s = Math.floor(ms / 1000);
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
}
`;

/** The DOM part: polls `status`, keeps a few seconds of samples for rates, renders with text nodes only. */
export const STATUS_PAGE_UI_JS = String.raw`
const POLL_MS = 1000;
const RATE_WINDOW_MS = 5000;
let samples = [];
let lastView = null;

// Elements from a tag, a class and children; strings become text nodes (never parsed as HTML).
function h(tag, cls, children) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  for (const c of children ?? []) if (c !== undefined && c !== null) el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}
function badge(text, level) { return h('span', 'badge ' + level, [text]); }
function stateLevel(state) { return state === 'running' ? 'ok' : state === 'failed' || state === 'stopped' ? 'bad' : 'warn'; }

function card(name, label, value, level) {
  const el = h('div', 'card' + (level ? ' ' + level : ''), [h('div', 'value', [value]), h('div', 'label', [label])]);
  el.dataset.total = name;
  return el;
}

function renderTotals(view, t) {
  return h('section', 'cards', [
    view.swarm ? card('processes', 'processes running', t.running + ' / ' + t.processes, t.running < t.processes ? 'warn' : '') : null,
    card('processed', 'messages processed', fmtNumber(t.processedMessages)),
    card('rate', 'msg/s', fmtRate(t.rate)),
    card('lag', 'lag (messages, ' + t.partitions + ' partitions)', fmtNumber(t.lag), t.lag > 0 ? 'warn' : ''),
    card('failedBatches', 'failed batches', fmtNumber(t.failedBatches), t.failedBatches > 0 ? 'bad' : ''),
    card('retries', 'retries', fmtNumber(t.retries), t.retries > 0 ? 'warn' : ''),
    card('deadLettered', 'dead-lettered', fmtNumber(t.deadLettered), t.deadLettered > 0 ? 'warn' : ''),
    card('threadsLost', 'threads lost', fmtNumber(t.threadsLost), t.threadsLost > 0 ? 'bad' : ''),
    view.swarm ? card('restarts', 'process restarts', fmtNumber(t.restarts), t.restarts > 0 ? 'warn' : '') : null,
  ]);
}

function cell(col, text, cls) {
  const td = h('td', cls, [text]);
  td.dataset.col = col;
  return td;
}

function renderGroup(g, rateByKey) {
  const head = h('tr', '', ['topic', 'partition', 'thread', 'processed', 'msg/s', 'processed offset', 'committed', 'log end', 'lag', 'queued', 'activity'].map((x, i) => h('th', i > 0 && i < 10 ? 'num' : '', [x])));
  const maxLag = Math.max(1, ...g.partitions.map((p) => p.lag ?? 0));
  const rows = g.partitions.map((p) => {
    const bar = h('span', 'bar', []);
    bar.style.width = Math.round(((p.lag ?? 0) / maxLag) * 100) + '%'; // CSSOM, which the CSP allows (style attributes it would not)
    const lag = cell('lag', fmtNumber(p.lag), 'num lag');
    lag.append(bar);
    const tr = h('tr', 'partition', [
      cell('topic', p.topic), cell('partition', String(p.partition), 'num'), cell('thread', p.thread ?? '–', 'num'),
      cell('processed', fmtNumber(p.processedMessages), 'num'), cell('rate', fmtRate(rateByKey[p.key]), 'num'),
      cell('processedOffset', fmtNumber(p.processedOffset), 'num'), cell('committed', fmtNumber(p.committedOffset), 'num'), cell('logEnd', fmtNumber(p.logEndOffset), 'num'),
      lag, cell('queued', fmtNumber(p.queuedBatches), 'num'), cell('activity', p.activity.text, p.activity.level),
    ]);
    tr.dataset.topic = p.topic;
    tr.dataset.partition = String(p.partition);
    return tr;
  });
  const title = h('h3', '', ['group ', h('span', 'name', [g.name]), ' ', badge(g.joined ? 'joined' : 'not joined', g.joined ? 'ok' : 'warn')]);
  const body = rows.length > 0 ? h('table', '', [h('thead', '', [head]), h('tbody', '', rows)]) : h('p', 'muted', ['no partitions assigned to this process']);
  const el = h('div', 'group', [title, body]);
  el.dataset.group = g.name;
  return el;
}

function renderProcess(view, p, rateByKey) {
  const title = view.swarm
    ? h('h2', '', ['process ' + p.index, h('span', 'muted', [' pid ' + (p.pid ?? '–')]), ' ', badge(p.state, stateLevel(p.state)), p.restarts > 0 ? ' ' : null, p.restarts > 0 ? badge(p.restarts + (p.restarts === 1 ? ' restart' : ' restarts'), 'warn') : null])
    : h('h2', '', ['pid ' + (p.pid ?? '–'), ' ', badge(p.state, stateLevel(p.state))]);
  const parts = [title];
  if (p.note) parts.push(h('p', 'note', [p.note]));
  const s = p.server;
  if (!s) {
    parts.push(h('p', 'muted', ['no status from this process (' + p.state + ')']));
  } else {
    const facts = [
      'up ' + fmtDuration(s.uptimeMs),
      fmtNumber(s.processedMessages) + ' processed',
      fmtRate(rateByKey[p.key]) + ' msg/s',
      fmtNumber(s.failedBatches) + ' failed batches',
      fmtNumber(s.retries) + ' retries',
      fmtNumber(s.deadLettered) + ' dead-lettered',
      fmtNumber(s.threadsLost) + ' threads lost',
    ];
    parts.push(h('p', 'facts', facts.map((f) => h('span', '', [f]))));
    if (s.pool) {
      const pool = s.pool;
      parts.push(h('p', 'pool', ['worker pool ', badge(pool.health.text, pool.health.level), ' ' + fmtNumber(pool.ready) + ' of ' + fmtNumber(pool.size) + ' threads ready, ' + pool.broken + ' broken, ' + pool.waiting + ' tasks waiting' + (pool.replacing ? ', replacing a thread' : '')]));
    }
    for (const g of s.groups) parts.push(renderGroup(g, rateByKey));
    if (s.groups.length === 0) parts.push(h('p', 'muted', ['no consumer groups yet']));
    if (s.threads.length > 0) {
      const rows = s.threads.map((t) => {
        const tr = h('tr', 'thread', [cell('id', t.id, 'num'), cell('count', String(t.partitions.length), 'num'), cell('partitions', t.partitions.join(', ') || '–')]);
        tr.dataset.thread = t.id;
        return tr;
      });
      parts.push(h('h3', '', ['worker threads']), h('table', 'threads', [h('thead', '', [h('tr', '', [h('th', 'num', ['thread']), h('th', 'num', ['partitions']), h('th', '', ['group/topic/partition'])])]), h('tbody', '', rows)]));
    }
  }
  const el = h('section', 'process', parts);
  el.dataset.process = String(p.index);
  return el;
}

function render(view, problem) {
  const rateByKey = rates(samples[0], samples[samples.length - 1]);
  const t = totals(view, rateByKey);
  document.getElementById('state').replaceChildren(
    badge((view.swarm ? 'swarm ' : '') + view.state, stateLevel(view.state)), ' ',
    badge(view.ready ? 'ready' : 'not ready', view.ready ? 'ok' : 'warn'),
  );
  document.getElementById('problem').replaceChildren(...(problem ? [h('p', 'problem', [problem])] : []));
  document.getElementById('totals').replaceChildren(renderTotals(view, t));
  document.getElementById('processes').replaceChildren(...view.processes.map((p) => renderProcess(view, p, rateByKey)));
}

async function poll() {
  let problem;
  try {
    // Relative: resolves next to the page, so it also works behind a path prefix.
    const res = await fetch('status', { cache: 'no-store', headers: { accept: 'application/json' } });
    const body = await res.json();
    if (res.ok) {
      const view = toView(body);
      const at = Date.now();
      samples = keepWindow(samples, { at, counts: countsOf(view) }, RATE_WINDOW_MS);
      lastView = view;
      document.getElementById('updated').textContent = 'updated ' + new Date(at).toLocaleTimeString();
    } else {
      // e.g. 503 while the server is starting: { error, message }
      problem = str(obj(body).message ?? obj(body).error, 'HTTP ' + res.status);
    }
  } catch (err) {
    problem = 'cannot read /status: ' + (err instanceof Error ? err.message : String(err));
  }
  if (lastView) render(lastView, problem);
  else document.getElementById('problem').replaceChildren(...(problem ? [h('p', 'problem', [problem])] : []));
  document.body.classList.toggle('stale', problem !== undefined);
  setTimeout(poll, POLL_MS);
}

poll();
`;

const STYLE = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #6b7280; --bg: #f6f7f9; --panel: #fff; --line: #e3e6eb; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --bar: #f0b429; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --muted: #9aa3af; --bg: #14171c; --panel: #1c2027; --line: #2d333b; --ok: #3fb950; --warn: #d29922; --bad: #f85149; --bar: #9e6a03; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 1.25rem 1.5rem 2rem; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
body.stale #totals, body.stale #processes { opacity: 0.55; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.75rem; }
h1 { font-size: 1.3rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 0 0 0.5rem; display: flex; gap: 0.5rem; align-items: baseline; flex-wrap: wrap; }
h3 { font-size: 0.95rem; margin: 1rem 0 0.4rem; }
.muted, #updated { color: var(--muted); }
.problem { color: var(--bad); font-weight: 600; }
.note { color: var(--warn); }
.badge { display: inline-block; padding: 0 0.5em; border-radius: 1em; font-size: 0.8rem; font-weight: 600; border: 1px solid currentColor; }
.ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); } .idle { color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(9.5rem, 1fr)); gap: 0.6rem; margin: 1rem 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 0.6rem 0.8rem; }
.card .value { font-size: 1.45rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .label { color: var(--muted); font-size: 0.8rem; }
.process { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 0.9rem 1rem; margin: 0 0 1rem; }
.facts span + span::before { content: " · "; color: var(--muted); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 0.25rem 0.6rem 0.25rem 0; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 500; font-size: 0.8rem; }
td.num, th.num { text-align: right; padding-right: 1.2rem; }
td.lag { position: relative; min-width: 5rem; }
td.lag .bar { position: absolute; left: 0; bottom: 2px; height: 3px; background: var(--bar); }
.threads td:last-child { white-space: normal; color: var(--muted); }
.name { font-family: ui-monospace, monospace; }
`;

// One function scope: nothing of the page lands on window.
const SCRIPT = `\n(() => {\n'use strict';\n${STATUS_PAGE_MODEL_JS}\n${STATUS_PAGE_UI_JS}\n})();\n`;

/** The page. Served as is (static: no data is ever templated into it). */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Partita status</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header><h1>Partita</h1><span id="state"></span><span id="updated">loading /status…</span></header>
<div id="problem"></div>
<div id="totals"></div>
<div id="processes"></div>
<noscript><p>This page needs JavaScript; the same data is at <a href="status">/status</a>.</p></noscript>
<script>${SCRIPT}</script>
</body>
</html>
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * Response headers for the page: a CSP that allows exactly its own inline script and style and
 * same-origin fetches (`/status`), the data: favicon, and nothing else (no frames, no forms, no base).
 */
export const STATUS_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': [
    "default-src 'none'",
    `script-src ${sha256(SCRIPT)}`,
    `style-src ${sha256(STYLE)}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** For an endpoint that takes the page as one value (e.g. the swarm's `page` option). */
export const STATUS_PAGE = { html: STATUS_PAGE_HTML, headers: STATUS_PAGE_HEADERS };
