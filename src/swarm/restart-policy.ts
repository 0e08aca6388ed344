/**
 * When the supervisor restarts a process that exited on its own, and when it
 * gives up. Pure logic (the clock is passed in), so it is unit-tested.
 *
 * - A process that exits unexpectedly is restarted after a backoff that
 *   doubles with each consecutive failure (1 s, 2 s, 4 s … capped).
 * - A process that ran (its server started) for `stableAfterMs` has proven
 *   its config and its brokers work: its failure count starts again at 0.
 * - A process that exits before its server started, `maxStartCrashes` times
 *   in a row, is crash-looping: restarting it again will not help (a broker
 *   that rejects the credentials, a consumer that throws on import in a
 *   worker, …), so the swarm fails loudly instead of hiding it.
 * - Exit code 2 is a usage or configuration error: fatal at once.
 */

export interface RestartPolicyOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  /** Consecutive exits before the server started that fail the swarm. */
  maxStartCrashes: number;
  /** Running this long resets the failure count. */
  stableAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = { baseDelayMs: 1000, maxDelayMs: 30_000, maxStartCrashes: 5, stableAfterMs: 60_000 };

export interface ExitFacts {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The process's server had started (it reported `running`). */
  started: boolean;
  /** How long the process lived, ms. */
  livedMs: number;
}

export type RestartDecision = { restart: true; delayMs: number; failures: number } | { restart: false; reason: string };

/** Tracks one process slot's failures across restarts. */
export class RestartPolicy {
  #failures = 0;
  #startCrashes = 0;

  constructor(private readonly options: RestartPolicyOptions = DEFAULT_RESTART_POLICY) {}

  /** Decides what to do about an unexpected exit. */
  onExit(exit: ExitFacts): RestartDecision {
    if (exit.code === 2) return { restart: false, reason: 'it exited 2 (a usage or configuration error: restarting cannot fix it)' };
    if (exit.started && exit.livedMs >= this.options.stableAfterMs) {
      this.#failures = 0;
      this.#startCrashes = 0;
    }
    this.#failures += 1;
    this.#startCrashes = exit.started ? 0 : this.#startCrashes + 1;
    if (this.#startCrashes >= this.options.maxStartCrashes) {
      return { restart: false, reason: `it exited ${this.#startCrashes} times in a row before its server started (last: ${describeExit(exit)})` };
    }
    const delayMs = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (this.#failures - 1));
    return { restart: true, delayMs, failures: this.#failures };
  }
}

export function describeExit(exit: { code: number | null; signal: NodeJS.Signals | null }): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`;
}
