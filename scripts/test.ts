/**
 * The test command (`npm test`): unit tests, then integration tests against a
 * real Kafka. Uses KAFKA_BROKERS when set; otherwise starts the local broker
 * (fresh data) and stops it at the end, also on failure or Ctrl-C. A broker
 * that was already running is used and left running.
 *
 *   tsx scripts/test.ts [--unit | --integration] [file ...]
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KafkaSetupError, startCluster, stopCluster } from './kafka/broker.ts';

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** Test files that load every core for minutes (CPU-bound fleets, a cluster of their own, the bench). */
const SATURATING = /(bench|commit-truth)\.test\.ts$/;

function runNodeTests(files: string[], env: NodeJS.ProcessEnv, concurrency: number): Promise<number> {
  const args = ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, ...files];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit', env });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { unit: { type: 'boolean', default: false }, integration: { type: 'boolean', default: false } },
  });
  const files = positionals.length > 0
    ? positionals
    : [...(values.integration ? [] : findTests('test/unit')), ...(values.unit ? [] : findTests('test/integration'))];
  const needsKafka = files.some((f) => f.includes('integration'));
  const env = { ...process.env };
  let startedHere = false;
  if (needsKafka && !env.KAFKA_BROKERS) {
    const info = await startCluster({ fresh: true, log: (l) => console.log(`[kafka] ${l}`) });
    startedHere = info.started;
    env.KAFKA_BROKERS = info.bootstrap;
    console.log(`[kafka] ${info.started ? 'started' : 'using the running'} broker at ${info.bootstrap}`);
  }
  try {
    // Integration tests mostly wait on the broker, so a few files run side by side even on 2 cores.
    // CPU-saturating files run alone afterwards, one at a time: next to the fault tests they
    // slowed a broker restart enough to change what those tests exercise, and next to the CLI
    // tests they pushed a few past their time limit.
    const alone = files.filter((f) => SATURATING.test(f));
    const shared = files.filter((f) => !SATURATING.test(f));
    const first = shared.length > 0 ? await runNodeTests(shared, env, Number(process.env.TEST_CONCURRENCY ?? 3)) : 0;
    const second = alone.length > 0 ? await runNodeTests(alone, env, 1) : 0;
    return first || second;
  } finally {
    if (startedHere) {
      await stopCluster();
      console.log('[kafka] stopped the broker started for the tests');
    }
  }
}

main().then(
  (code) => process.exit(code),
  async (err) => {
    console.error(err instanceof KafkaSetupError ? `error [${err.code}]: ${err.message}` : err);
    process.exit(1);
  },
);
