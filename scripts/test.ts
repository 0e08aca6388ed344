/**
 * The test command (`npm test`): unit tests, then integration tests against a
 * real Kafka. Uses KAFKA_BROKERS when set; otherwise starts the local broker
 * (fresh data) and stops it at the end, also on failure or Ctrl-C. A broker
 * that was already running is used and left running.
 *
 *   tsx scripts/test.ts [--unit | --integration] [file ...]
 *
 * Every integration file runs as its own `node --test` process in its own
 * process group, under a wall-clock limit: a file that hangs (a child process
 * that never exits, a wait without a bound) is killed with everything it
 * started and reported by name as a failure, instead of holding the whole
 * suite until CI's own limit ends it with nothing to show. Each file's output
 * is printed in one piece when it ends, with its duration; a line every two
 * minutes says what is still running.
 *
 * The whole suite (no files named) also runs on the other supported Node
 * versions (TEST_NODE_VERSIONS, default "22,24"; empty: none), installed from
 * the npm registry (scripts/node-versions.ts): the unit tests, and as an
 * integration smoke `compressed-topics` (produce with the Java client, consume
 * on the pool, commit, read the commits back), which also covers the native
 * zstd of Node ≥ 22.15.
 *
 * Environment: TEST_CONCURRENCY (3), TEST_FILE_LIMIT_S (900 per file),
 * TEST_TOTAL_LIMIT_S (3600 for the whole run), TEST_NODE_VERSIONS ("22,24"),
 * PARTITA_KAFKA_PORT (the port of the broker it starts; 9092).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_PORT, KafkaSetupError, startCluster, stopCluster } from './kafka/broker.ts';
import { ensureNode, nodeVersion } from './node-versions.ts';

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/**
 * Test files that load every core for minutes (CPU-bound fleets, a cluster of their own, the
 * bench, chaos's two app processes with worker threads re-booting every second): alone, chaos
 * takes ~80 s; next to the fault and CLI tests it took 385 s of its 420 s limit.
 */
/** The local broker's port when the runner starts one (PARTITA_KAFKA_PORT, as for `npm run kafka:start`). */
const KAFKA_PORT = Number(process.env.PARTITA_KAFKA_PORT ?? DEFAULT_PORT);
const REGISTER = new URL('../bin/register.js', import.meta.url).href;
// ctrl-c loads both cores on purpose for its 20 s.
const SATURATING = /(bench|commit-truth|chaos|ctrl-c)\.test\.ts$/;
/** Files that need programs outside npm, and the one line that says how to get them. */
const NEEDS: Array<{ file: RegExp; programs: string[]; install: string }> = [
  { file: /observability\.test\.ts$/, programs: ['prometheus', 'promtool'], install: 'apt-get install prometheus (Debian/Ubuntu; .ci/run does it): the test scrapes Partita with a real Prometheus and lints with promtool' },
  { file: /swarm\.test\.ts$/, programs: ['promtool'], install: 'apt-get install prometheus (Debian/Ubuntu; .ci/run does it): the test lints the swarm\'s aggregated metrics with promtool' },
  { file: /status-page\.test\.ts$/, programs: [process.env.PARTITA_CHROMIUM ?? 'chromium'], install: 'apt-get install chromium (Debian; .ci/run does it), or PARTITA_CHROMIUM=<its executable>: the test drives the status page in headless Chromium' },
];

/** Why `file` cannot run on this machine, or undefined. */
function missingPrograms(file: string): string | undefined {
  const need = NEEDS.find((n) => n.file.test(file));
  const missing = need?.programs.filter((p) => spawnSync(p, ['--version'], { stdio: 'ignore' }).error);
  return missing && missing.length > 0 ? `${missing.join(' and ')} not installed: ${need!.install}` : undefined;
}

/**
 * Roughly how long a job takes next to two others on 2 cores (clean-clone CI, 2026-11-24), only to
 * start the long ones first; a file not named here counts as 30 s.
 */
const EXPECTED_S: Array<[RegExp, number]> = [
  [/^unit tests/, 80],
  [/package\.test\.ts$/, 185],
  [/cli-commands\.test\.ts$/, 125],
  [/broker-faults\.test\.ts$/, 125],
  [/flow-control\.test\.ts$/, 90],
  [/(kafka-script|rebalance-storm|large-offsets|swarm|compressed-topics)\.test\.ts/, 55],
];
const expectedSeconds = (job: Job) => EXPECTED_S.find(([re]) => re.test(job.name))?.[1] ?? 30;

/** What runs on the other Node versions besides the unit tests. */
const SMOKE = 'test/integration/compressed-topics.test.ts';

interface Job {
  name: string;
  files: string[];
  /** The node binary (default: the one running this script). */
  node?: string;
  /** Why the job cannot run at all (it counts as failed). */
  cannot?: string;
}

interface Outcome {
  name: string;
  status: 'pass' | 'fail' | 'killed';
  seconds: number;
  /** What the file printed (kept for the digest of failures at the very end). */
  output?: string;
}

const envSeconds = (name: string, fallback: number) => Number(process.env[name] ?? fallback) * 1000;
const FILE_LIMIT_MS = envSeconds('TEST_FILE_LIMIT_S', 900);
const TOTAL_LIMIT_MS = envSeconds('TEST_TOTAL_LIMIT_S', 3600);
const started = Date.now();
const elapsed = (since: number) => Math.round((Date.now() - since) / 1000);

/** Running jobs, so a limit or a Ctrl-C can end each with its whole process group. */
const running = new Map<Job, { child: ChildProcess; since: number }>();
let interruptedBy: NodeJS.Signals | undefined;

function killGroup(child: ChildProcess): void {
  try {
    // Detached children lead their own process group: this ends the app processes they started too.
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function runJob(job: Job, env: NodeJS.ProcessEnv): Promise<Outcome> {
  if (job.cannot) {
    process.stdout.write(`\n── ${job.name}: fail — ${job.cannot}\n`);
    return Promise.resolve({ name: job.name, status: 'fail', seconds: 0 });
  }
  // --test-force-exit: a file whose tests are done does not wait on handles left open.
  // bin/register.js: tsx, and `import … from 'partita'` (examples, fixtures) resolves to src/ like the tests' own imports.
  const args = ['--import', REGISTER, '--test', '--test-reporter=spec', '--test-force-exit', ...job.files];
  const since = Date.now();
  return new Promise((resolve) => {
    const child = spawn(job.node ?? process.execPath, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    running.set(job, { child, since });
    const limitMs = Math.min(FILE_LIMIT_MS, Math.max(0, TOTAL_LIMIT_MS - (Date.now() - started)));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      killGroup(child);
    }, limitMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(job);
      // Whatever the file left behind in its group (an app process it did not stop) ends with it.
      killGroup(child);
      const status = killed || interruptedBy ? 'killed' : code === 0 ? 'pass' : 'fail';
      const seconds = elapsed(since);
      const why = killed ? ` — KILLED after ${Math.round(limitMs / 1000)} s (the file's wall-clock limit): it hung` : signal ? ` (ended by ${signal})` : '';
      process.stdout.write(`\n── ${job.name}: ${status} in ${seconds} s${why}\n${out}`);
      resolve({ name: job.name, status, seconds, output: out });
    });
  });
}

async function runJobs(jobs: Job[], env: NodeJS.ProcessEnv, concurrency: number): Promise<Outcome[]> {
  const queue = [...jobs];
  const outcomes: Outcome[] = [];
  const lane = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      if (interruptedBy || Date.now() - started >= TOTAL_LIMIT_MS) outcomes.push({ name: job.name, status: 'killed', seconds: 0 });
      else outcomes.push(await runJob(job, env));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  return outcomes;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { unit: { type: 'boolean', default: false }, integration: { type: 'boolean', default: false } },
  });
  const files = positionals.length > 0
    ? positionals
    : // The example app's own tests run without a broker (partita/testing's testConsumer): with the unit tests.
      [...(values.integration ? [] : [...findTests('test/unit'), ...findTests('examples')]), ...(values.unit ? [] : findTests('test/integration'))];
  const needsKafka = files.some((f) => f.includes('integration'));
  const env = { ...process.env };
  let startedHere = false;
  if (needsKafka && !env.KAFKA_BROKERS) {
    const info = await startCluster({ fresh: true, port: KAFKA_PORT, log: (l) => console.log(`[kafka] ${l}`) });
    startedHere = info.started;
    env.KAFKA_BROKERS = info.bootstrap;
    console.log(`[kafka] ${info.started ? 'started' : 'using the running'} broker at ${info.bootstrap}`);
  }
  const heartbeat = setInterval(() => {
    const now = [...running].map(([job, r]) => `${job.name} (${elapsed(r.since)} s)`);
    console.log(`[test] ${elapsed(started)} s: running ${now.join(', ') || 'nothing'}`);
  }, 120_000);
  try {
    // Unit files are quick and share one process; integration files each get their own.
    const unit = files.filter((f) => !f.includes('integration'));
    const integration = files.filter((f) => f.includes('integration'));
    const jobs: Job[] = [
      ...(unit.length > 0 ? [{ name: unit.length === 1 ? unit[0]! : `unit tests (${unit.length} files)`, files: unit }] : []),
      ...integration.map((f) => {
        const cannot = missingPrograms(f);
        return { name: f, files: [f], ...(cannot ? { cannot } : {}) };
      }),
    ];
    // Integration tests mostly wait on the broker, so a few files run side by side even on 2 cores.
    // CPU-saturating files run alone afterwards, one at a time: next to the fault tests they
    // slowed a broker restart enough to change what those tests exercise, and next to the CLI
    // tests they pushed a few past their time limit.
    if (positionals.length === 0) {
      for (const major of (process.env.TEST_NODE_VERSIONS ?? '22,24').split(',').map((v) => v.trim()).filter(Boolean)) {
        let node: string;
        try {
          node = ensureNode(major, (l) => console.log(`[node] ${l}`));
        } catch (err) {
          jobs.push({ name: `tests on Node ${major}`, files: [], cannot: (err as Error).message });
          continue;
        }
        const v = nodeVersion(node);
        if (unit.length > 0) jobs.push({ name: `unit tests on Node ${v}`, files: unit, node });
        if (integration.includes(SMOKE)) jobs.push({ name: `${SMOKE} on Node ${v}`, files: [SMOKE], node });
      }
    }
    const alone = jobs.filter((j) => j.files.some((f) => SATURATING.test(f)));
    // Longest first: a long file started last would keep one lane busy after the others are done.
    const shared = jobs.filter((j) => !alone.includes(j)).sort((a, b) => expectedSeconds(b) - expectedSeconds(a));
    const outcomes = [
      ...(await runJobs(shared, env, Number(process.env.TEST_CONCURRENCY ?? 3))),
      ...(await runJobs(alone, env, 1)),
    ];
    console.log(`\n── summary (${elapsed(started)} s in all)`);
    for (const o of [...outcomes].sort((a, b) => b.seconds - a.seconds)) {
      console.log(`${o.status === 'pass' ? '  ok  ' : o.status === 'fail' ? ' FAIL ' : ' KILL '} ${String(o.seconds).padStart(4)} s  ${o.name}`);
    }
    const bad = outcomes.filter((o) => o.status !== 'pass');
    // CI often keeps only the tail of a long log: say why each file failed once more, last.
    for (const o of bad) console.log(`\n── why ${o.name} did not pass\n${failureDigest(o.output ?? '')}`);
    if (bad.length > 0) console.log(`${bad.length} of ${outcomes.length} failed or hung: ${bad.map((o) => o.name).join(', ')}`);
    return bad.length > 0 ? 1 : 0;
  } finally {
    clearInterval(heartbeat);
    if (startedHere) {
      await stopCluster({ port: KAFKA_PORT });
      console.log('[kafka] stopped the broker started for the tests');
    }
  }
}

/**
 * The reporter's "failing tests" section, each failure cut to its first lines
 * (assertion messages often carry a process's whole output); without one (a
 * file that crashed or hung), the file's last lines.
 */
export function failureDigest(output: string, linesPerFailure = 12, tailLines = 25): string {
  const lines = output.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  const at = lines.findIndex((l) => /^✖ failing tests:/.test(l));
  if (at < 0) return lines.filter((l) => l.trim() !== '').slice(-tailLines).join('\n');
  const digest: string[] = [];
  let kept = 0;
  for (const line of lines.slice(at + 1)) {
    if (/^(✖ |test at )/.test(line)) kept = 0; // a new failure
    if (kept++ < linesPerFailure) digest.push(line);
    else if (kept === linesPerFailure + 1) digest.push('  …');
  }
  return digest.join('\n');
}

/** Ctrl-C or CI's own timeout: end what runs (each prints what it had), start nothing more, stop the broker. */
function interrupted(signal: NodeJS.Signals): void {
  interruptedBy = signal;
  console.log(`[test] ${signal} after ${elapsed(started)} s: ending ${[...running.keys()].map((j) => j.name).join(', ') || 'nothing'}`);
  for (const r of running.values()) killGroup(r.child);
}
process.on('SIGINT', interrupted).on('SIGTERM', interrupted);

main().then(
  (code) => process.exit(code),
  async (err) => {
    console.error(err instanceof KafkaSetupError ? `error [${err.code}]: ${err.message}` : err);
    process.exit(1);
  },
);
