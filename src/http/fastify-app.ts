/**
 * What every Partita HTTP endpoint (a server's, a swarm's) does alike: JSON
 * for unknown paths and failed handlers, and a bind error that names the
 * address (HTTP_LISTEN_FAILED) instead of a bare EADDRINUSE.
 */
import type { FastifyInstance } from 'fastify';
import { HttpListenError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/** 404 lists the endpoints; a handler that throws is a logged JSON 500. */
export function jsonFallbacks(app: FastifyInstance, endpoints: string[], logger: Logger | undefined): void {
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: 'not found', method: req.method, path: req.url.split('?')[0], endpoints });
  });
  app.setErrorHandler((err, _req, reply) => {
    logger?.error({ err }, 'http request failed');
    void reply.code(500).send({ error: 'internal error', message: err instanceof Error ? err.message : String(err) });
  });
}

/** Binds; on failure closes the app and throws HttpListenError. Returns the URL bound. */
export async function listen(app: FastifyInstance, host: string, port: number): Promise<string> {
  try {
    return await app.listen({ host, port });
  } catch (err) {
    await app.close().catch(() => {});
    throw new HttpListenError(host, port, err);
  }
}
