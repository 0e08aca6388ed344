// Signals that arrive while the `partita` command is still loading (its modules take ~0.5 s
// installed, longer from the sources): held from the first moment, then handed to the
// command's own handlers (server and swarm adopt them: src/cli/early-signals.ts), or, for any
// other command, given their default effect once it is known not to want them. Without this a
// SIGTERM in that window ended the process with no log, and a SIGUSR2 killed it.
const HELD = ['SIGINT', 'SIGTERM', 'SIGUSR2'];
const held = [];
const hold = (signal) => held.push(signal);
for (const signal of HELD) process.on(signal, hold);

globalThis[Symbol.for('partita.earlySignals')] = {
  /** Stops holding; the signals held so far, oldest first (once: later calls get none). */
  take() {
    for (const signal of HELD) process.off(signal, hold);
    return held.splice(0);
  },
};
