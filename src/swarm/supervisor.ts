/**
 * `partita swarm`'s supervisor: N `partita server` processes, each a member
 * of the same consumer groups with its own worker pool (Kafka's group
 * protocol shares the partitions among them, as it would across machines).
 *
 * - A process that exits on its own is restarted with backoff; one that keeps
 *   exiting before its server starts fails the swarm loudly (restart-policy.ts).
 * - stop() sends each process SIGTERM once: each stops gracefully within its
 *   own shutdownTimeoutMs (final commits verified); whatever still runs after
 *   that budget and a grace period is killed, and the stop is not clean.
 * - Processes are spawned detached (their own process group): a Ctrl-C on
 *   the terminal reaches only the supervisor, which forwards it exactly once.
 *   If the supervisor dies without stopping them, each sees its IPC channel
 *   close and stops gracefully on its own (src/cli/swarm-member.ts).
 * - The supervisor asks its processes for status, health, readiness and
 *   metrics over IPC (src/protocol/swarm.ts): they bind no HTTP port of their
 *   own; the swarm has one endpoint (swarm-http.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.ts';
import { isSwarmMessage, SWARM_INDEX_ENV, type SwarmQuery, type SwarmRequest } from '../protocol/swarm.ts';
import { DEFAULT_RESTART_POLICY, describeExit, RestartPolicy, type RestartPolicyOptions } from './restart-policy.ts';

/** The `partita` command (bin/partita.js), the same relative path from src/swarm/ and dist/swarm/. */
const PARTITA_BIN = fileURLToPath(new URL('../../bin/partita.js', import.meta.url));

export type MemberState = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'failed';
export type SwarmState = 'running' | 'stopping' | 'stopped';

export interface SwarmOptions {
  processes: number;
  /** Arguments after `partita server` for every process (boot file, consumer groups). */
  serverArgs: string[];
  /** The app's shutdownTimeoutMs: each process's own stop budget. */
  shutdownTimeoutMs: number;
  logger: Logger;
  restartPolicy?: RestartPolicyOptions;
  /** How long the supervisor waits past shutdownTimeoutMs before it kills what still runs. */
  stopGraceMs?: number;
  /** How long a process may be down (restarting, starting) before /health says so. */
  downLimitMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface SwarmOutcome {
  /** Every process that ran at the stop exited 0, and the swarm did not fail. */
  clean: boolean;
  /** Why the swarm failed on its own (a crash loop), if it did. */
  failure?: string;
  /** Per process, how its last run ended. */
  exits: Array<{ index: number; exit: string | undefined }>;
}

interface Member {
  index: number;
  state: MemberState;
  child: ChildProcess | undefined;
  restarts: number;
  spawnedAt: number;
  /** Since when the process is not running (starting, restarting); undefined while it runs. */
  downSince: number | undefined;
  started: boolean;
  policy: RestartPolicy;
  lastExit: string | undefined;
  /** This run's exit, once it exited during the stop. */
  stopExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  restartTimer: NodeJS.Timeout | undefined;
  pending: Map<number, (body: unknown) => void>;
}

export class Supervisor {
  readonly #opts: SwarmOptions;
  readonly #members: Member[];
  readonly #log: Logger;
  #state: SwarmState = 'running';
  #failure: string | undefined;
  #killedAtStop = false;
  #nextRequest = 1;
  #killTimer: NodeJS.Timeout | undefined;
  #done!: (o: SwarmOutcome) => void;
  /** Resolves once every process has exited after a stop (requested, or after the swarm failed). */
  readonly done: Promise<SwarmOutcome> = new Promise((resolve) => (this.#done = resolve));

  constructor(opts: SwarmOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
    const now = Date.now();
    this.#members = Array.from({ length: opts.processes }, (_, index) => ({
      index,
      state: 'starting' as MemberState,
      child: undefined,
      restarts: 0,
      spawnedAt: now,
      downSince: now,
      started: false,
      policy: new RestartPolicy(opts.restartPolicy ?? DEFAULT_RESTART_POLICY),
      lastExit: undefined,
      stopExit: undefined,
      restartTimer: undefined,
      pending: new Map(),
    }));
  }

  get state(): SwarmState {
    return this.#state;
  }

  start(): void {
    this.#log.info({ processes: this.#opts.processes }, `swarm starting ${this.#opts.processes} server processes`);
    for (const m of this.#members) this.#spawn(m);
  }

  #spawn(m: Member): void {
    m.restartTimer = undefined;
    m.state = 'starting';
    m.started = false;
    m.spawnedAt = Date.now();
    m.downSince ??= m.spawnedAt;
    const args = [...process.execArgv, PARTITA_BIN, 'server', '--no-http', ...this.#opts.serverArgs];
    const child = spawn(process.execPath, args, {
      env: { ...(this.#opts.env ?? process.env), [SWARM_INDEX_ENV]: String(m.index) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      detached: true,
    });
    m.child = child;
    child.on('message', (msg) => {
      if (!isSwarmMessage(msg)) return;
      if (msg.kind === 'swarm.response') {
        m.pending.get(msg.id)?.(msg.body);
        m.pending.delete(msg.id);
      } else if (msg.kind === 'swarm.lifecycle') {
        if (msg.state === 'running' && m.state === 'starting') {
          m.state = 'running';
          m.started = true;
          m.downSince = undefined;
          this.#log.info({ process: m.index, processPid: child.pid }, `process ${m.index} (pid ${child.pid}) is running`);
        } else if (msg.state === 'stopping' && m.state === 'running' && this.#state === 'running') {
          // Stopping on its own (its fetcher crashed, or someone signalled it): an exit follows.
          m.state = 'stopping';
        }
      }
    });
    let exited = false;
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      if (exited) return;
      exited = true;
      this.#exited(m, child, code, signal);
    };
    child.on('exit', onExit);
    child.on('error', (err) => {
      // Could not be spawned at all (or signalled after it died): an exit with no code.
      this.#log.error({ err, process: m.index }, `process ${m.index}: ${err.message}`);
      if (child.pid === undefined) onExit(1, null);
    });
    this.#log.info({ process: m.index, processPid: child.pid }, `process ${m.index} started (pid ${child.pid})`);
  }

  #exited(m: Member, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (m.child !== child) return;
    m.child = undefined;
    for (const resolve of m.pending.values()) resolve(undefined);
    m.pending.clear();
    const exit = { code, signal };
    m.lastExit = describeExit(exit);
    if (this.#state !== 'running') {
      m.stopExit = exit;
      m.state = code === 0 ? 'stopped' : 'failed';
      const level = code === 0 ? 'info' : 'error';
      this.#log[level]({ process: m.index, processPid: child.pid, code, signal }, `process ${m.index} (pid ${child.pid}) stopped: ${m.lastExit}`);
      this.#settleIfAllExited();
      return;
    }
    const livedMs = Date.now() - m.spawnedAt;
    const decision = m.policy.onExit({ code, signal, started: m.started, livedMs });
    m.downSince = Date.now();
    if (decision.restart) {
      m.state = 'restarting';
      m.restarts += 1;
      this.#log.warn(
        { process: m.index, processPid: child.pid, code, signal, livedMs, restartInMs: decision.delayMs, failures: decision.failures },
        `process ${m.index} (pid ${child.pid}) exited unexpectedly (${m.lastExit}${m.started ? '' : ', before its server started'}): restarting it in ${decision.delayMs} ms`,
      );
      m.restartTimer = setTimeout(() => this.#spawn(m), decision.delayMs);
      return;
    }
    m.state = 'failed';
    this.#failure = `process ${m.index} is not restarted: ${decision.reason}`;
    this.#log.error({ process: m.index, code: 'SWARM_CRASH_LOOP', reason: decision.reason }, `swarm failed [SWARM_CRASH_LOOP]: ${this.#failure}; stopping the other processes`);
    void this.stop();
  }

  /**
   * Stops every process gracefully (SIGTERM once). Resolves when all exited;
   * `done` carries the outcome. Calling it again returns the same stop.
   */
  stop(): Promise<SwarmOutcome> {
    if (this.#state !== 'running') return this.done;
    this.#state = 'stopping';
    const budgetMs = this.#opts.shutdownTimeoutMs + (this.#opts.stopGraceMs ?? 10_000);
    for (const m of this.#members) {
      clearTimeout(m.restartTimer);
      m.restartTimer = undefined;
      if (m.child) {
        m.state = 'stopping';
        m.child.kill('SIGTERM');
      } else if (m.state !== 'failed') {
        m.state = 'stopped';
      }
    }
    this.#killTimer = setTimeout(() => {
      const left = this.#members.filter((m) => m.child);
      this.#log.error({ processes: left.map((m) => m.index), budgetMs }, `processes ${left.map((m) => m.index).join(', ')} still running ${budgetMs} ms after SIGTERM: killing them`);
      this.#killedAtStop = true;
      for (const m of left) m.child?.kill('SIGKILL');
    }, budgetMs);
    this.#killTimer.unref();
    this.#settleIfAllExited();
    return this.done;
  }

  /** A second signal: each process gets it again (a process forces its exit on a second signal and says what still ran). */
  force(): void {
    for (const m of this.#members) m.child?.kill('SIGTERM');
    const t = setTimeout(() => {
      for (const m of this.#members) m.child?.kill('SIGKILL');
    }, 5000);
    t.unref();
  }

  #settleIfAllExited(): void {
    if (this.#state !== 'stopping' || this.#members.some((m) => m.child)) return;
    clearTimeout(this.#killTimer);
    this.#state = 'stopped';
    const clean = !this.#failure && !this.#killedAtStop && this.#members.every((m) => m.stopExit === undefined || m.stopExit.code === 0);
    this.#done({ clean, ...(this.#failure ? { failure: this.#failure } : {}), exits: this.#members.map((m) => ({ index: m.index, exit: m.lastExit })) });
  }

  /** Asks process `m` (IPC); undefined when it is not running or does not answer within `timeoutMs`. */
  request(m: Member, query: SwarmQuery, timeoutMs = 3000): Promise<unknown> {
    const child = m.child;
    if (!child?.connected) return Promise.resolve(undefined);
    const id = this.#nextRequest++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        m.pending.delete(id);
        resolve(undefined);
      }, timeoutMs);
      m.pending.set(id, (body) => {
        clearTimeout(timer);
        resolve(body);
      });
      const req: SwarmRequest = { kind: 'swarm.request', id, query };
      try {
        child.send(req, (err) => {
          if (err) m.pending.get(id)?.(undefined);
        });
      } catch {
        m.pending.get(id)?.(undefined);
      }
    });
  }

  /** Every process slot, with what it answers to `query` (undefined when not running). */
  async ask(query: SwarmQuery): Promise<Array<{ member: MemberView; body: unknown }>> {
    return Promise.all(this.#members.map(async (m) => ({ member: this.#view(m), body: m.state === 'running' ? await this.request(m, query) : undefined })));
  }

  #view(m: Member): MemberView {
    return {
      index: m.index,
      pid: m.child?.pid ?? null,
      state: m.state,
      restarts: m.restarts,
      ...(m.lastExit ? { lastExit: m.lastExit } : {}),
      downForMs: m.downSince === undefined ? 0 : Date.now() - m.downSince,
    };
  }

  members(): MemberView[] {
    return this.#members.map((m) => this.#view(m));
  }

  get downLimitMs(): number {
    return this.#opts.downLimitMs ?? 60_000;
  }
}

/** What the supervisor says about one process slot. */
export interface MemberView {
  index: number;
  pid: number | null;
  state: MemberState;
  /** Restarts after unexpected exits, since the swarm started. */
  restarts: number;
  /** How the previous run of this slot ended, e.g. `killed by SIGKILL`. */
  lastExit?: string;
  /** How long it has not been running (0 while it runs). */
  downForMs: number;
}
