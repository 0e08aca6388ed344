/**
 * Telling one Ctrl-C from two. A terminal sends SIGINT to its whole
 * foreground process group, and the launchers in front of a Node process —
 * `npm run` / `npx` (npm forwards SIGINT and SIGTERM to its child) and the
 * `tsx` command (which re-sends a signal its child has not acknowledged
 * within 30 ms) — relay it again. So one press can arrive two or three
 * times within milliseconds, more on a loaded machine. A signal that comes
 * within SAME_PRESS_MS of the previous one is the same press; only a later
 * one is a deliberate second press (which forces the exit).
 */
export const SAME_PRESS_MS = 500;

export interface Press {
  /** Deliberate presses so far, this one included. */
  count: number;
  /** True when this signal is a relayed copy of the previous press (ignore it). */
  repeated: boolean;
}

/** A counter of deliberate presses; call it on every SIGINT/SIGTERM. `now` is injectable for tests. */
export function signalPresses(windowMs = SAME_PRESS_MS, now: () => number = () => performance.now()): () => Press {
  let last = Number.NEGATIVE_INFINITY;
  let count = 0;
  return () => {
    const t = now();
    const repeated = t - last < windowMs;
    last = t;
    if (!repeated) count += 1;
    return { count, repeated };
  };
}
