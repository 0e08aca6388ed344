/**
 * The bench's command line: its flags, their defaults (smaller with --quick)
 * and the usage text. A bad flag or value exits 2 with the usage, --help
 * exits 0; both before anything connects to a broker.
 */
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

/** The repository root: default results directory, cwd of the contender processes. */
export const ROOT = resolve(import.meta.dirname, '../..');

export interface BenchOptions {
  quick: boolean;
  /** The scenarios to run, in order (default: all). */
  scenarios: string[];
  messages: number;
  partitions: number;
  workers: number[];
  /** Latency scenario: messages produced per second … */
  rate: number;
  /** … for this many seconds. */
  latencySeconds: number;
  memoryBacklog: number;
  out: string;
  profile: boolean;
  java: boolean;
  /** --node MAJOR: the whole run (harness and every contender) on that Node major, installed from the npm registry. */
  node?: string;
}

const usage = (scenarioNames: readonly string[]) => `usage: npm run bench -- [--quick] [--scenario NAME]... [--messages N] [--partitions P] [--workers 1,2,4] [--rate MSG_PER_S] [--out DIR] [--profile] [--no-java] [--node 22|24]
scenarios: ${scenarioNames.join(', ')}`;

/** Parses process.argv; `scenarioNames` are the scenarios there are (the registry's). */
export function parseOptions(scenarioNames: readonly string[]): BenchOptions {
  const USAGE = usage(scenarioNames);
  let values;
  try {
    ({ values } = parseArgs({
      strict: true,
      options: {
        quick: { type: 'boolean', default: false },
        scenario: { type: 'string', multiple: true },
        messages: { type: 'string' },
        partitions: { type: 'string' },
        workers: { type: 'string' },
        rate: { type: 'string' },
        out: { type: 'string' },
        profile: { type: 'boolean', default: false },
        'no-java': { type: 'boolean', default: false },
        node: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    console.error(`error: ${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const problems: string[] = [];
  const int = (name: string, v: string | undefined, min: number) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) problems.push(`--${name} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  };
  const unknown = (values.scenario ?? []).filter((s) => !scenarioNames.includes(s));
  if (unknown.length) problems.push(`unknown scenario(s): ${unknown.join(', ')} (choose from ${scenarioNames.join(', ')})`);
  const workers = values.workers?.split(',').map((w) => int('workers', w, 1)!) ?? undefined;
  const quick = values.quick!;
  const messages = int('messages', values.messages, 100) ?? (quick ? 30_000 : 1_000_000);
  const opts: BenchOptions = {
    quick,
    scenarios: values.scenario?.length ? values.scenario : [...scenarioNames],
    messages,
    partitions: int('partitions', values.partitions, 1) ?? 12,
    workers: workers ?? (quick ? [1, 2] : [...new Set([1, 2, availableParallelism()])].sort((a, b) => a - b)),
    rate: int('rate', values.rate, 1) ?? (quick ? 2000 : 20_000),
    latencySeconds: quick ? 3 : 15,
    memoryBacklog: quick ? messages * 3 : Math.max(5_000_000, messages * 5),
    out: resolve(values.out ?? join(ROOT, 'bench/results')),
    profile: values.profile!,
    java: !values['no-java'],
    ...(values.node !== undefined ? { node: values.node } : {}),
  };
  if (values.node !== undefined && !/^\d+$/.test(values.node)) problems.push(`--node takes a Node major version such as 24, got "${values.node}"`);
  if (problems.length) {
    console.error(`error: ${problems.join('; ')}\n${USAGE}`);
    process.exit(2);
  }
  return opts;
}
