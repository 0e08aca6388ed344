/**
 * Node's process warnings as lines of the server's log, instead of Node's
 * own `(node:PID) SomeWarning: …` on stderr: with JSON logs every line a log
 * shipper reads stays one JSON object, and a warning carries the process's
 * name like every other line.
 *
 * One warning is known and harmless: kafkajs 2.2.4 arming its request
 * queue's re-check timer with a negative delay, which Node runs after 1 ms
 * and Node 24 reports once per process as a `TimeoutNegativeWarning`. The fix
 * is at its source (src/kafka/request-queue-idle.ts): Partita's own clients
 * no longer arm it. Only another copy of kafkajs in the process (an app's own,
 * of another version) still can, and that is a debug line, not a warning an
 * operator should act on.
 *
 * `--no-warnings` (or NODE_NO_WARNINGS=1) keeps meaning no warnings: Node then
 * installs no printer of its own and neither does this. `--trace-warnings`
 * adds the stack to the line. Deprecations are filtered by Node before they
 * get here (`--no-deprecation`).
 */
import type { Logger } from '../logger.ts';

/** kafkajs's timer with a negative delay (see above), recognised by where it was armed. */
function isKafkajsNegativeTimeout(warning: Error): boolean {
  return warning.name === 'TimeoutNegativeWarning' && /RequestQueue\.scheduleCheckPendingRequests|kafkajs[\\/]src[\\/]network[\\/]requestQueue/.test(warning.stack ?? '');
}

/**
 * Replaces Node's warning printer with `logger`; returns what undoes it. Only
 * the listeners present now are replaced (Node's own: this runs before the
 * boot file loads), so a listener an app adds later still gets every warning.
 */
export function logProcessWarnings(logger: Logger): () => void {
  const nodePrinters = process.listeners('warning');
  // No printer: --no-warnings or NODE_NO_WARNINGS=1. Keep it quiet.
  if (nodePrinters.length === 0) return () => {};
  for (const l of nodePrinters) process.off('warning', l);
  const onWarning = (warning: Error) => {
    const { name, message } = warning;
    const code = (warning as { code?: unknown }).code;
    const fields = { warning: { name, message, ...(code !== undefined ? { code } : {}), ...((process as { traceProcessWarnings?: boolean }).traceProcessWarnings ? { stack: warning.stack } : {}) } };
    if (isKafkajsNegativeTimeout(warning)) logger.debug(fields, `Node warning from kafkajs's request queue (harmless: a timer with a negative delay runs after 1 ms): ${name}`);
    else logger.warn(fields, `Node warning: ${name}: ${message}`);
  };
  process.on('warning', onWarning);
  return () => {
    process.off('warning', onWarning);
    for (const l of nodePrinters) process.on('warning', l);
  };
}
