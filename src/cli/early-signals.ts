/**
 * The signals bin/early-signals.js held while the CLI loaded. The server and
 * swarm commands adopt them once their own handlers are in place; every other
 * command releases them at once, with their default effect (what the signal
 * would have done had nothing held it). Started any other way (the API,
 * tests), nothing was held and both are no-ops.
 */
interface EarlySignals {
  take(): NodeJS.Signals[];
}

const KEY = Symbol.for('partita.earlySignals');

/** Stops holding signals; returns the ones held so far, oldest first. */
export function takeEarlySignals(): NodeJS.Signals[] {
  return (globalThis as { [KEY]?: EarlySignals })[KEY]?.take() ?? [];
}

/** For a command without handlers of its own: stop holding, and let each held signal do what it does by default. */
export function releaseEarlySignals(): void {
  for (const signal of takeEarlySignals()) process.kill(process.pid, signal);
}
