/**
 * pino, to stdout; level from PARTITA_LOG_LEVEL (default info). Format from
 * PARTITA_LOG_FORMAT (`json` | `pretty`; the CLI's --log-format sets it): by
 * default human-readable lines (pino-pretty) when stdout is a terminal, JSON
 * lines otherwise (files, pipes, log shippers). The CLI settles the format
 * once in PARTITA_LOG_FORMAT, so worker threads (whose stdout is never a
 * terminal) write the same format as the main thread.
 */
import { pino, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type { Logger };

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The format in effect: PARTITA_LOG_FORMAT when valid, else pretty on a terminal and JSON otherwise. */
export function logFormat(): LogFormat {
  const env = process.env.PARTITA_LOG_FORMAT;
  if (env === 'json' || env === 'pretty') return env;
  return process.stdout.isTTY ? 'pretty' : 'json';
}

export function createLogger(options: { level?: string; name?: string; format?: LogFormat } = {}): Logger {
  // A process of `partita swarm` (and its worker threads) names itself by its index: partita#0, partita#1 …
  const index = process.env.PARTITA_SWARM_INDEX;
  const settings = { name: options.name ?? (index === undefined ? 'partita' : `partita#${index}`), level: options.level ?? process.env.PARTITA_LOG_LEVEL ?? 'info' };
  if ((options.format ?? logFormat()) === 'json') return pino(settings);
  // Synchronous: a line logged right before exit is not lost (pino's own stdout writes are synchronous too).
  return pino(settings, PinoPretty({ sync: true, colorize: Boolean(process.stdout.isTTY), translateTime: 'SYS:HH:MM:ss.l', ignore: 'hostname' }));
}
