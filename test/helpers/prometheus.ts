/**
 * A real Prometheus server (Debian's `prometheus` package; .ci/run installs it)
 * scraping one target on 127.0.0.1 every second, with a throwaway TSDB.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './kafka.ts';

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** `promtool check metrics` on an exposition: exit code and what it said. */
export function promtoolCheckMetrics(text: string): { code: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool is not installed (apt-get install prometheus): ${r.error.message}`);
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

export interface QueryResult {
  status: string;
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

export class Prometheus {
  readonly #child: ChildProcess;
  readonly #dir: string;
  #log = '';
  private constructor(
    child: ChildProcess,
    dir: string,
    readonly url: string,
  ) {
    this.#child = child;
    this.#dir = dir;
    child.stderr!.on('data', (d) => (this.#log += d));
  }

  /** Starts Prometheus scraping `target` (host:port) and waits until it is ready. */
  static async start(target: string): Promise<Prometheus> {
    const dir = mkdtempSync(join(tmpdir(), 'partita-prometheus-'));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, ['global:', '  scrape_interval: 1s', '  evaluation_interval: 1s', 'scrape_configs:', '  - job_name: partita', '    static_configs:', `      - targets: ['${target}']`, ''].join('\n'));
    const port = await freePort();
    const child = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    const spawnError = new Promise<Error>((r) => child.once('error', r));
    const prom = new Prometheus(child, dir, `http://127.0.0.1:${port}`);
    const ready = waitFor(async () => (await fetch(`${prom.url}/-/ready`).catch(() => undefined))?.ok === true, 'prometheus ready', 30_000, 200);
    const failed = await Promise.race([ready.then(() => undefined), spawnError]);
    if (failed) throw new Error(`prometheus could not start (apt-get install prometheus): ${failed.message}`);
    return prom;
  }

  async query(expr: string): Promise<QueryResult> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await res.json()) as QueryResult;
  }

  /** The numeric value of a single-series query, or undefined when it has no data. */
  async value(expr: string): Promise<number | undefined> {
    const r = await this.query(expr);
    const v = r.data?.result[0]?.value[1];
    return v === undefined ? undefined : Number(v);
  }

  log(): string {
    return this.#log;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null) {
      const exited = new Promise((r) => this.#child.once('exit', r));
      this.#child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
