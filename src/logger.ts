/** pino, JSON to stdout; level from PARTITA_LOG_LEVEL (default info). */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({ name: options.name ?? 'partita', level: options.level ?? process.env.PARTITA_LOG_LEVEL ?? 'info' });
}
