/**
 * The bench harness on tiny data: every scenario and every contender runs
 * against the real broker and the result document is well formed. No timing
 * is asserted (speed is reported by the bench, never tested).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/app.ts';
import type { BenchDocument } from '../../bench/lib/report.ts';

const bench = (args: string[]) => spawnSync('npm', ['run', '-s', 'bench', '--', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 480_000 });

test('npm run bench --quick: every scenario and contender runs and writes a well-formed result', { timeout: 500_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'partita-bench-test-'));
  const run = bench(['--quick', '--messages', '3000', '--partitions', '4', '--workers', '1,2', '--rate', '500', '--profile', '--out', out]);
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  const files = readdirSync(out);
  const json = files.find((f) => f.endsWith('.json'))!;
  assert.ok(json && files.includes(json.replace(/\.json$/, '.svg')), `result files: ${files}`);
  assert.match(readFileSync(join(out, json.replace(/\.json$/, '.svg')), 'utf8'), /^<svg [^>]*>.*<rect .*<\/svg>\n$/s);
  const doc = JSON.parse(readFileSync(join(out, json), 'utf8')) as BenchDocument;
  assert.equal(doc.quick, true);
  assert.ok(doc.machine.cores >= 1 && doc.machine.memoryBytes > 0 && doc.machine.kafka && doc.machine.kafkajs === '2.2.4' && doc.machine.node);
  const contenders = Object.fromEntries(doc.scenarios.map((s) => [s.name, s.rows.map((r) => r.contender)]));
  assert.deepEqual(Object.keys(contenders), ['passthrough 9 B', 'passthrough 1 KB', 'compressed 1 KB lz4', 'compressed 1 KB zstd', 'cpu', 'cpu keyed, 1 partition', 'io', 'io keyed, 1 partition', 'latency', 'memory']);
  for (const c of ['compressed 1 KB lz4', 'compressed 1 KB zstd']) assert.deepEqual(contenders[c], ['kafkajs', 'partita inline', 'partita pool ×1', 'partita pool ×2']);
  for (const p of ['passthrough 9 B', 'passthrough 1 KB']) assert.deepEqual(contenders[p], ['kafkajs', 'partita inline', 'partita pool ×1', 'partita pool ×2', '@platformatic/kafka', 'java ConsumerPerformance']);
  assert.deepEqual(contenders.cpu, ['kafkajs', 'partita inline', 'partita pool ×1', 'partita pool ×2', 'bare threads ×1 (no Kafka)', 'bare threads ×2 (no Kafka)']);
  assert.match(doc.scenarios.find((s) => s.name === 'cpu')!.notes.join('\n'), /2 bare threads ran \d+\.\d\d× as fast as on 1/);
  assert.deepEqual(contenders['cpu keyed, 1 partition'], ['partita inline, parallel max 32', 'partita pool ×2, no virtual partitions', 'partita pool ×1, parallel max 32', 'partita pool ×2, parallel max 32', 'partita pool ×2, parallel max 32 balanced']);
  assert.equal(contenders.io!.length, 2);
  assert.deepEqual(contenders['io keyed, 1 partition'], ['partita pool ×1', 'partita pool ×1, parallel max 32', 'partita pool ×1, parallel max 32 balanced']);
  assert.equal(contenders.latency!.length, 2);
  assert.deepEqual(contenders.memory, ['kafkajs', 'partita pool ×' + doc.machine.cores, 'kafkajs, --max-semi-space-size=2', 'partita pool ×' + doc.machine.cores + ', --max-semi-space-size=2']);
  for (const s of doc.scenarios) {
    for (const r of s.rows) {
      assert.ok(Number.isFinite(r.messagesPerSecond) && r.messagesPerSecond > 0, `${s.name}/${r.contender} rate ${r.messagesPerSecond}`);
      // io keyed: the partition without virtual partitions (1 ms per message, one by one) runs a tenth of them.
      // cpu: the bare threads (the machine's ceiling, no Kafka) run a quarter of them.
      const expected = s.name === 'io keyed, 1 partition' && r.contender === 'partita pool ×1' ? Math.round(s.messages / 10) : r.contender.startsWith('bare threads') ? Math.round(s.messages / 4) : s.messages;
      assert.ok(r.messages >= expected, `${s.name}/${r.contender} consumed ${r.messages} of ${expected}`);
      if (s.name !== 'latency') assert.ok(r.ratio !== undefined && Number.isFinite(r.ratio), `${s.name}/${r.contender} has a ratio`);
    }
    for (const t of s.targets) assert.match(t.note, /target [≥≤] .*; (met|missed, at \d+% of it)\)$/);
  }
  const latency = doc.scenarios.find((s) => s.name === 'latency')!;
  for (const r of latency.rows) assert.ok(r.latencyMs && r.latencyMs.samples >= latency.messages && r.latencyMs.p50 <= r.latencyMs.p99, `${r.contender} latency ${JSON.stringify(r.latencyMs)}`);
  for (const r of doc.scenarios.find((s) => s.name === 'memory')!.rows) assert.ok(r.peakRssBytes! > 0 && r.ratio! > 0);
  assert.ok(doc.profile && doc.profile.totalMs > 0 && doc.profile.byArea.length > 0 && doc.profile.topFunctions.length > 0, 'fetcher profile summarized');
  assert.match(run.stdout, /passthrough 9 B — no-op consume[\s\S]*results: .*\.json\nchart: +.*\.svg/);
});

test('npm run bench rejects unknown options and scenarios with usage (exit 2)', () => {
  const bogus = bench(['--bogus']);
  assert.equal(bogus.status, 2);
  assert.match(bogus.stderr, /Unknown option '--bogus'[\s\S]*usage: npm run bench/);
  const scenario = bench(['--scenario', 'warp']);
  assert.equal(scenario.status, 2);
  assert.match(scenario.stderr, /unknown scenario\(s\): warp/);
  const node = bench(['--node', 'latest']);
  assert.equal(node.status, 2);
  assert.match(node.stderr, /--node takes a Node major version such as 24, got "latest"/);
});

test('npm run bench --node MAJOR: harness and contenders run on that Node, and the result says so', { timeout: 200_000 }, () => {
  // Another supported major than this one (the test command installs 22 and 24 anyway).
  const other = process.versions.node.startsWith('24.') ? '22' : '24';
  const out = mkdtempSync(join(tmpdir(), 'partita-bench-node-'));
  const run = bench(['--node', other, '--quick', '--scenario', 'io', '--partitions', '2', '--out', out]);
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  const doc = JSON.parse(readFileSync(join(out, readdirSync(out).find((f) => f.endsWith('.json'))!), 'utf8')) as BenchDocument;
  assert.equal(doc.machine.node.split('.')[0], other);
  assert.deepEqual(doc.scenarios.map((s) => s.name), ['io']);
  for (const r of doc.scenarios[0]!.rows) assert.ok(r.messages >= doc.scenarios[0]!.messages, `${r.contender} consumed ${r.messages}`);
});
