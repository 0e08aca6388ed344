/**
 * Running contenders: each in its own process (bench/lib/contender.ts, so
 * memory and CPU are its own) with a progress line, and the standard
 * throughput line-up of a scenario (raw kafkajs, Partita inline, Partita
 * pool × each worker count, optionally Java), turned into report rows with
 * ratios against a baseline row.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ContenderResult, ContenderSpec } from './contender.ts';
import { javaConsume } from './java.ts';
import { ROOT } from './options.ts';
import { progressBar } from './progress.ts';
import type { ContenderRow } from './report.ts';
import type { BenchContext } from './scenario.ts';

const CONTENDER = join(ROOT, 'bench/lib/contender.ts');

/** Contender processes running now (an interrupted bench ends them). */
export const runningContenders = new Set<ChildProcess>();

/** Runs one contender in its own process; `onJoined` runs once it joined its group (latency: start producing then). */
export function runContender(label: string, spec: ContenderSpec, onJoined?: () => Promise<void>, profileDir?: string): Promise<ContenderResult> {
  const bar = progressBar(label, spec.expect);
  // bin/register.js: tsx, and the app's `import … from 'partita'` resolves to the same sources as the contender's.
  const args = [...(spec.nodeFlags ?? []), '--import', join(ROOT, 'bin/register.js'), ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), CONTENDER, JSON.stringify(spec)];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    runningContenders.add(child);
    child.once('exit', () => runningContenders.delete(child));
    let result: ContenderResult | undefined;
    let err = '';
    let buf = '';
    let joinedWork: Promise<void> | undefined;
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg: { joined?: boolean; progress?: number; result?: ContenderResult };
        try {
          msg = JSON.parse(line);
        } catch {
          continue;
        }
        if (msg.joined && onJoined && !joinedWork) joinedWork = onJoined().catch((e) => {
            child.kill('SIGKILL');
            reject(e);
          });
        if (msg.progress !== undefined) bar.update(msg.progress);
        if (msg.result) result = msg.result;
      }
    });
    child.on('exit', async (code) => {
      await joinedWork;
      if (code === 0 && result) {
        bar.done(`${Math.round(result.messagesPerSecond).toLocaleString('en-US')} msg/s`);
        resolvePromise(result);
      } else reject(new Error(`contender ${label} failed (exit ${code}): ${err.trim().split('\n').slice(-8).join('\n')}`));
    });
  });
}

export const row = (contender: string, r: ContenderResult): ContenderRow => ({ contender, messages: r.messages, seconds: r.seconds, messagesPerSecond: r.messagesPerSecond, peakRssBytes: r.peakRssBytes, ...(r.cores !== undefined ? { cores: r.cores } : {}), ...(r.latencyMs ? { latencyMs: r.latencyMs } : {}) });

export const withRatios = (rows: ContenderRow[], baseline: string) => {
  const base = rows.find((r) => r.contender === baseline)?.messagesPerSecond;
  return rows.map((r) => ({ ...r, ...(base ? { ratio: r.messagesPerSecond / base } : {}) }));
};

/** A consumer group of its own per scenario, contender and run. */
export const group = (ctx: BenchContext, scenario: string, contender: string) => `bench-${scenario}-${contender}-${ctx.runId}`.replace(/\s+/g, '-');

/** What every contender spec starts with. */
export const baseSpec = (ctx: BenchContext) => ({ brokers: ctx.brokers, timeoutMs: ctx.opts.quick ? 120_000 : 900_000 });

/**
 * The throughput contenders on one topic: raw kafkajs, Partita inline, Partita pool × each worker count,
 * optionally @platformatic/kafka (another Node client) and Java.
 */
export async function throughput(ctx: BenchContext, scenario: string, topic: string, n: number, w: ContenderSpec['work'], extra: Partial<ContenderSpec>, withJava: boolean, profile: boolean, withPlatformatic = false) {
  const { opts, runId } = ctx;
  const base = baseSpec(ctx);
  const rows: ContenderRow[] = [];
  const spec = (kind: ContenderSpec['kind'], name: string, more: Partial<ContenderSpec> = {}): ContenderSpec => ({ ...base, kind, topic, group: group(ctx, scenario, name), expect: n, work: w, ...extra, ...more });
  rows.push(row('kafkajs', await runContender(`${scenario} kafkajs`, spec('kafkajs', 'kafkajs'))));
  rows.push(row('partita inline', await runContender(`${scenario} partita inline`, spec('partita', 'inline', { backend: 'inline' }))));
  let profileFile: string | undefined;
  for (const workers of opts.workers) {
    const last = workers === opts.workers.at(-1);
    const dir = profile && last ? join(opts.out, `profile-${runId}`) : undefined;
    if (dir) mkdirSync(dir, { recursive: true });
    rows.push(row(`partita pool ×${workers}`, await runContender(`${scenario} partita pool ×${workers}`, spec('partita', `pool${workers}`, { backend: 'pool', workers }), undefined, dir)));
    if (dir) {
      // The main thread's profile (the fetcher): the largest of the run's files.
      const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
      profileFile = files.sort((a, b) => statSync(b).size - statSync(a).size).find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0];
    }
  }
  if (withPlatformatic) rows.push(row('@platformatic/kafka', await runContender(`${scenario} @platformatic/kafka`, spec('platformatic', 'platformatic'))));
  if (withJava && opts.java) {
    const bar = progressBar(`${scenario} java ConsumerPerformance`, n);
    const j = await javaConsume(ctx.brokers, topic, group(ctx, scenario, 'java'), n, base.timeoutMs);
    bar.done(`${Math.round(j.messagesPerSecond).toLocaleString('en-US')} msg/s`);
    rows.push({ contender: 'java ConsumerPerformance', messages: n, seconds: j.seconds, messagesPerSecond: j.messagesPerSecond });
  }
  return { rows, profileFile };
}
