/**
 * How CLI commands turn errors into exit codes and messages (shared by
 * `server` and `swarm`): 2 for usage errors, 1 for everything else.
 */
import { PartitaError, UnknownConsumerGroupError, UsageError } from '../errors.ts';

/** --http-port / PARTITA_HTTP_PORT as a port number, or a usage error. */
export function parsePort(value: string, from: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new UsageError(`${from} must be a port number 0-65535, got "${value}"`);
  return n;
}

export function fail(err: unknown): number {
  if (err instanceof UsageError) {
    console.error(`error: ${err.message}`);
    return 2;
  }
  if (err instanceof PartitaError) {
    console.error(`error [${err.code}]: ${err.message}`);
    return err instanceof UnknownConsumerGroupError ? 2 : 1;
  }
  console.error(err);
  return 1;
}
