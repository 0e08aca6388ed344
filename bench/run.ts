/**
 * `npm run bench [-- options]`: every scenario runs every contender on the
 * same pre-produced data, on the same broker, in this one run, and reports
 * ratios against the baselines measured alongside (absolute numbers on a
 * shared machine mean little). Results: bench/results/<timestamp>.json and
 * .svg (or --out DIR). See README "Benchmarks".
 *
 * This file only runs the run: options (lib/options.ts), the scenarios of
 * the registry (scenarios/, one file each), the report. Seeding topics is
 * lib/seed.ts, running contenders lib/runner.ts.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { brokersFromEnvOrLocal, KAFKA_VERSION, stopCluster } from '../scripts/kafka/broker.ts';
import { parseOptions } from './lib/options.ts';
import { runningContenders } from './lib/runner.ts';
import { signalPresses } from '../src/cli/signal-presses.ts';
import { machine, svgChart, table, type BenchDocument } from './lib/report.ts';
import type { BenchContext } from './lib/scenario.ts';
import { SCENARIOS } from './scenarios/index.ts';
import { ensureNode } from '../scripts/node-versions.ts';

const opts = parseOptions(SCENARIOS.map((s) => s.name));
// PARTITA_BENCH_ON_NODE: set for the child, which runs the bench itself whatever its major says.
if (opts.node !== undefined && !process.env.PARTITA_BENCH_ON_NODE && Number(opts.node) !== Number(process.versions.node.split('.')[0])) process.exit(await rerunOn(opts.node));

/**
 * --node MAJOR: the same command again on that Node, harness and contenders alike (they are
 * started with process.execPath), so every ratio compares clients on one runtime. The machine's
 * Node may not be what users run (Node 20 here: no native zstd in zlib).
 */
async function rerunOn(major: string): Promise<number> {
  let node: string;
  try {
    node = ensureNode(major, (l) => console.error(l));
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    return 2;
  }
  // The child runs with the flag still given and sees its own major, so it runs the bench itself.
  // It shares the terminal's process group (Ctrl-C reaches it directly); SIGTERM sent to this
  // process is passed on, so the child stops the broker it started as it would alone.
  const child = spawn(node, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, PARTITA_BENCH_ON_NODE: major } });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? osConstants.signals[signal] : 0))));
}

const runId = Date.now().toString(36);
let brokerStartedHere = false;

// Ctrl-C (once: relayed copies within 500 ms are the same press) or SIGTERM: end the contender
// that runs, stop the broker this run started, exit 130. Without it Node would exit at once and
// leave a broker it started running.
const presses = signalPresses();
const interrupted = (signal: NodeJS.Signals) => {
  if (presses().repeated) return;
  console.error(`\n${signal}: stopping the bench${brokerStartedHere ? ' and the broker it started' : ''} ...`);
  for (const c of runningContenders) c.kill('SIGKILL');
  void (brokerStartedHere ? stopCluster() : Promise.resolve()).finally(() => {
    console.error('bench interrupted: nothing left running');
    process.exit(130);
  });
};
process.on('SIGINT', interrupted).on('SIGTERM', interrupted);

async function main(): Promise<void> {
  const { brokers, started: startedBroker } = await brokersFromEnvOrLocal((l) => console.error(l));
  brokerStartedHere = startedBroker;
  const kafka = new kafkajs.Kafka({ clientId: 'partita-bench', brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const work = mkdtempSync(join(tmpdir(), 'partita-bench-'));
  const doc: BenchDocument = {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    quick: opts.quick,
    machine: machine(KAFKA_VERSION, (await import('kafkajs/package.json', { with: { type: 'json' } })).default.version),
    scenarios: [],
  };
  const ctx: BenchContext = { opts, runId, brokers, kafka, admin, work };

  for (const name of opts.scenarios) {
    console.error(`\n▶ ${name}`);
    const { results, profile } = await SCENARIOS.find((s) => s.name === name)!.run(ctx);
    doc.scenarios.push(...results);
    if (profile) doc.profile = profile;
  }

  await admin.disconnect();
  doc.finishedAt = new Date().toISOString();
  writeReport(doc);
  if (startedBroker) await stopCluster();
}

/** The JSON document and the SVG chart under --out; the table (and the profile summary) on stdout. */
function writeReport(doc: BenchDocument): void {
  mkdirSync(opts.out, { recursive: true });
  const stamp = doc.startedAt.replace(/[:.]/g, '-');
  const jsonFile = join(opts.out, `${stamp}.json`);
  const svgFile = join(opts.out, `${stamp}.svg`);
  writeFileSync(jsonFile, `${JSON.stringify(doc, null, 2)}\n`);
  writeFileSync(svgFile, svgChart(doc));
  console.log(table(doc));
  if (doc.profile) {
    console.log(`\nfetcher thread profile (${doc.profile.totalMs.toFixed(0)} ms): where the time goes`);
    for (const a of doc.profile.byArea.slice(0, 10)) console.log(`  ${(a.share * 100).toFixed(1).padStart(5)}%  ${a.area}`);
    console.log('  top functions (self time):');
    for (const f of doc.profile.topFunctions.slice(0, 10)) console.log(`  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
  }
  console.log(`\nresults: ${jsonFile}\nchart:   ${svgFile}`);
}

main().catch(async (err) => {
  console.error(`bench failed: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(1);
});
