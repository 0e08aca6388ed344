/** Helpers to run the recording fixture app in-process or as a `partita server` child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Server, type App, type FetcherCrashedError } from '../../src/index.ts';
import { createLogger } from '../../src/logger.ts';
import type { RecordLine } from '../fixtures/recording-consumer.ts';
import { commitsVsLogEnd, waitFor } from './kafka.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const RECORDING_BOOT = join(ROOT, 'test/fixtures/recording.config.ts');
export const PARTITA_BIN = join(ROOT, 'bin/partita.js');

export const FAULTY_BOOT = join(ROOT, 'test/fixtures/faulty.config.ts');

/**
 * Starts a Server in this process from a boot file, after putting `env` into
 * process.env (worker threads copy it when they start). `tag` makes this
 * import of the boot file fresh, so it reads the env again.
 */
export async function startServer(boot: string, tag: string, env: Record<string, string>): Promise<Server> {
  Object.assign(process.env, env);
  const app = (await import(`${pathToFileURL(boot).href}?${tag}`)).default as App;
  return Server.start({ app, bootFile: boot, logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), onFatal: (err) => fatalErrors.push(err) });
}

/** Fatal errors of servers started with startServer (for failure messages: tests log silently). */
export const fatalErrors: FetcherCrashedError[] = [];

export function tempFile(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'partita-test-')), name);
}

export function readRecords(file: string): RecordLine[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  // The last piece is '' or a line another thread is still writing: only complete lines count.
  lines.pop();
  // A process SIGKILLed in the middle of a write leaves a torn line (the next writer appends to it).
  // Its batch never completed, so it was not committed and runs again: skipping the torn line loses nothing.
  const out: RecordLine[] = [];
  for (const l of lines) {
    if (l.length === 0) continue;
    try {
      out.push(JSON.parse(l) as RecordLine);
    } catch {
      // torn line
    }
  }
  return out;
}

export function messageRecords(file: string): RecordLine[] {
  return readRecords(file).filter((r) => r.e === 'm');
}

/** Distinct ids seen and how many times each id was seen more than once. */
export function idStats(records: RecordLine[]): { distinct: Set<number>; duplicates: number } {
  const distinct = new Set<number>();
  let duplicates = 0;
  for (const r of records) {
    if (distinct.has(r.id!)) duplicates += 1;
    else distinct.add(r.id!);
  }
  return { distinct, duplicates };
}

export interface AppProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `partita server` with the given env on top of the test's env. */
export function startAppProcess(env: Record<string, string>, args: string[] = ['server', '--boot', RECORDING_BOOT]): AppProcess {
  const child = spawn(process.execPath, [PARTITA_BIN, ...args], {
    // Many app processes run at once in the suite: each takes a free port for /metrics.
    env: { ...process.env, PARTITA_LOG_LEVEL: 'info', PARTITA_HTTP_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return { child, output: () => out, exited };
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const p = startAppProcess(env, args);
  const { code } = await p.exited;
  return { code, output: p.output() };
}

/** The URL of a `partita server` process's HTTP endpoint, from its start-up log line. */
export function httpUrlOf(p: AppProcess): string | undefined {
  return /"url":"(http:\/\/[^"]+)"/.exec(p.output())?.[1];
}

/**
 * Runs an in-process server with the recording boot file on `topic` until `expected` distinct
 * ids were consumed and the group's commits reach the log end, failing on a fatal error; stops
 * it and returns the message records.
 */
export async function consumeAll(o: { tag: string; topic: string; group: string; expected: number; env?: Record<string, string>; timeoutMs?: number }): Promise<RecordLine[]> {
  const out = tempFile('records.jsonl');
  const fatalBefore = fatalErrors.length;
  const server = await startServer(RECORDING_BOOT, o.tag, { PARTITA_TEST_TOPIC: o.topic, PARTITA_TEST_GROUP: o.group, PARTITA_TEST_OUT: out, PARTITA_TEST_CONCURRENCY: '2', ...o.env });
  try {
    await waitFor(() => idStats(messageRecords(out)).distinct.size >= o.expected || fatalErrors.length > fatalBefore, `${o.expected} ids`, o.timeoutMs ?? 90_000);
    const fatal = fatalErrors.slice(fatalBefore).map((e) => e.message);
    if (fatal.length > 0) throw new Error(`the server failed: ${fatal.join('; ')}`);
    await waitFor(async () => (await commitsVsLogEnd(o.group, o.topic)).every((p) => p.committed === p.logEnd), 'commits through the log end', 30_000).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(await commitsVsLogEnd(o.group, o.topic))}`);
    });
  } finally {
    await server.stop();
  }
  return messageRecords(out);
}
