/**
 * `npm run bench:installed-memory [-- --messages N --partitions P --node 20,22,24 --no-java]`
 *
 * Peak RSS of `partita server` as a user deploys it: the package from
 * `npm pack` installed into an empty project, a plain-JavaScript boot file
 * with a no-op consumer (the memory scenario's route settings: 2 threads,
 * prefetch 2, 1 MiB per partition), no tsx anywhere. `npm run bench`
 * measures contenders run from this checkout's TypeScript sources, where
 * every thread also loads tsx; this is the figure for a compiled app.
 * Each variant (V8's defaults, then NODE_OPTIONS=--max-semi-space-size=2)
 * consumes the same backlog in a fresh group, and so does the baseline: raw
 * kafkajs in plain JavaScript from the same install (`eachBatch`, no-op,
 * auto-commit). RSS is sampled from /proc every 100 ms (Linux) until every
 * offset is committed, read back from Kafka. `--node` runs it all on each of
 * these Node majors (installed from the npm registry like the test
 * command's); the default is the Node running this script.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import kafkajs from 'kafkajs';
import { brokersFromEnvOrLocal } from '../scripts/kafka/broker.ts';
import { ensureNode, nodeVersion } from '../scripts/node-versions.ts';
import { ROOT } from './lib/options.ts';
import type { BenchContext } from './lib/scenario.ts';
import { createTopic, produceFixed } from './lib/seed.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '5000000' },
    partitions: { type: 'string', default: '12' },
    node: { type: 'string' },
    'no-java': { type: 'boolean', default: false },
  },
});
const nodes = values.node ? values.node.split(',').map((major) => ensureNode(major.trim(), (l) => console.error(l))) : [process.execPath];
const messages = Number(values.messages);
const partitions = Number(values.partitions);
const VARIANTS: Array<{ name: string; nodeOptions: string; kafkajs?: true }> = [
  { name: 'raw kafkajs (baseline)', nodeOptions: '', kafkajs: true },
  { name: 'partita server, defaults', nodeOptions: '' },
  { name: 'raw kafkajs, NODE_OPTIONS=--max-semi-space-size=2', nodeOptions: '--max-semi-space-size=2', kafkajs: true },
  { name: 'partita server, NODE_OPTIONS=--max-semi-space-size=2', nodeOptions: '--max-semi-space-size=2' },
];

const BOOT = `import { Consumer, createApp } from 'partita';

class Noop extends Consumer {
  consume() {}
}

export default createApp({
  kafka: { brokers: process.env.KAFKA_BROKERS.split(','), clientId: 'partita-installed-memory' },
  concurrency: 2,
  http: { enabled: false },
  routes: {
    [process.env.GROUP]: {
      prefetch: 2,
      maxBytesPerPartition: 1024 * 1024,
      commitIntervalMs: 100,
      topics: { [process.env.TOPIC]: { consumer: Noop, startFrom: 'earliest' } },
    },
  },
});
`;

const KAFKAJS = `import { Kafka, logLevel } from 'kafkajs';

const consumer = new Kafka({ clientId: 'raw-kafkajs', brokers: process.env.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING }).consumer({ groupId: process.env.GROUP });
await consumer.connect();
await consumer.subscribe({ topic: process.env.TOPIC, fromBeginning: true });
await consumer.run({ eachBatch: async () => {} });
process.once('SIGTERM', () => consumer.disconnect().then(() => process.exit(0)));
`;

function npm(args: string[], cwd: string): string {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed in ${cwd}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

const rssKb = (pid: number): number => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0; // exited between samples
  }
};

const { brokers } = await brokersFromEnvOrLocal((l) => console.error(`[kafka] ${l}`));
const work = mkdtempSync(join(tmpdir(), 'partita-installed-'));
console.error(`packing and installing partita into ${work} ...`);
npm(['pack', '--pack-destination', work], ROOT);
const tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
const app = join(work, 'app');
mkdirSync(app);
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'installed-memory', private: true, type: 'module' }));
writeFileSync(join(app, 'partita.config.js'), BOOT);
writeFileSync(join(app, 'raw-kafkajs.js'), KAFKAJS);
npm(['install', '--no-audit', '--no-fund', tarball], app);

const kafka = new kafkajs.Kafka({ clientId: 'partita-installed-memory', brokers, logLevel: kafkajs.logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
const runId = Date.now().toString(36);
const topic = `bench-installed-memory-${runId}`;
const ctx: BenchContext = { opts: { partitions, java: !values['no-java'] } as BenchContext['opts'], runId, brokers, kafka, admin, work };
await createTopic(ctx, topic, partitions);
await produceFixed(ctx, topic, messages, JSON.stringify({ id: 'event', body: 'z'.repeat(80) }));

async function committed(group: string): Promise<number> {
  const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return (t?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

const tables: string[] = [];
for (const node of nodes) {
  const version = nodeVersion(node);
  const rows: Array<{ name: string; peakMb: number; seconds: number }> = [];
  for (const v of VARIANTS) {
    const group = `${topic}-${tables.length}-${rows.length}`;
    const started = performance.now();
    // The same binary runs the partita bin (its threads too) and raw kafkajs.
    const child = spawn(node, v.kafkajs ? ['raw-kafkajs.js'] : [join(app, 'node_modules/.bin/partita'), 'server'], {
      cwd: app,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, NODE_OPTIONS: v.nodeOptions, KAFKA_BROKERS: brokers.join(','), GROUP: group, TOPIC: topic, PARTITA_LOG_LEVEL: 'warn' },
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssKb(child.pid!))), 100);
    let seconds = 0;
    try {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`${v.name} exited with ${child.exitCode} before the backlog was committed`);
        if ((await committed(group)) >= messages) break;
        if (performance.now() - started > 600_000) throw new Error('the backlog was not committed within 10 minutes');
        await new Promise((r) => setTimeout(r, 250));
      }
      seconds = (performance.now() - started) / 1000;
    } finally {
      clearInterval(sampler);
      child.kill('SIGTERM');
    }
    const code = await exited;
    if (code !== 0) throw new Error(`${v.name} exited with ${code} on SIGTERM`);
    rows.push({ name: v.name, peakMb: peak / 1024, seconds });
    console.error(`  ${version} ${v.name}: peak RSS ${Math.round(peak / 1024)} MB, ${seconds.toFixed(1)} s`);
  }
  const lines = [`\nNode ${version}: installed package, plain-JS apps, ${messages.toLocaleString('en-US')} messages, ${partitions} partitions, partita with 2 threads (time from process start, start-up included)`];
  lines.push('| contender | peak RSS | vs raw kafkajs | msg/s |\n|---|---|---|---|');
  for (const [i, r] of rows.entries()) {
    const base = rows[i < 2 ? 0 : 2]!; // the raw kafkajs row with the same NODE_OPTIONS
    lines.push(`| ${r.name} | ${Math.round(r.peakMb)} MB | ${(r.peakMb / base.peakMb).toFixed(2)}× | ${Math.round(messages / r.seconds).toLocaleString('en-US')} |`);
  }
  tables.push(lines.join('\n'));
}
await admin.deleteTopics({ topics: [topic] }).catch(() => {});
await admin.disconnect();

console.log(tables.join('\n'));
process.exit(0);
