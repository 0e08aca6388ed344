/**
 * The HTTP side of a server process (Fastify): Prometheus scrapes,
 * orchestrator probes and a status page for people.
 *
 *   GET /         the live status page (status-page.ts): polls /status
 *   GET /metrics  Prometheus text exposition of every thread
 *   GET /health   liveness: main event loop responsive, worker pool alive (503 otherwise)
 *   GET /ready    readiness: running and every consumer group joined (503 otherwise)
 *   GET /status   JSON: groups, partitions → thread, offsets, lag, paused/retrying
 *
 * Responses carry runtime state only, never configuration (brokers'
 * credentials cannot leak). Anything else is a JSON 404.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { jsonFallbacks, listen } from './fastify-app.ts';
import type { Logger } from '../logger.ts';
import type { Server } from '../main/server.ts';
import { STATUS_PAGE_HEADERS, STATUS_PAGE_HTML } from './status-page.ts';

export interface HttpOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** /health fails when the main event loop lagged more than this within the last 10 s. */
  maxEventLoopLagMs: number;
  /** /health fails when no worker thread could run tasks for this long. */
  poolDeadAfterMs: number;
  logger?: Logger;
}

export interface HttpServer {
  /** Base URL actually bound, e.g. http://127.0.0.1:9394 */
  readonly url: string;
  readonly fastify: FastifyInstance;
  close(): Promise<void>;
}

/** Worst main-thread event loop lag over a sliding window, from a timer's drift. */
class LoopLag {
  static readonly TICK_MS = 500;
  readonly #samples: number[] = [];
  #expected = performance.now() + LoopLag.TICK_MS;
  readonly #timer: NodeJS.Timeout;

  constructor(windowMs: number) {
    const keep = Math.ceil(windowMs / LoopLag.TICK_MS);
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#samples.push(Math.max(0, now - this.#expected));
      if (this.#samples.length > keep) this.#samples.shift();
      this.#expected = now + LoopLag.TICK_MS;
    }, LoopLag.TICK_MS);
    this.#timer.unref();
  }

  /** Includes the lag building up right now (a loop blocked since the last tick). */
  maxMs(): number {
    return Math.max(0, performance.now() - this.#expected, ...this.#samples);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/**
 * Serves `target`: a Server, or a function returning it once started. With a
 * function, the endpoints answer while the server is still starting (probes
 * get "alive, not ready"; /metrics and /status 503).
 */
export async function startHttpServer(target: Server | (() => Server | undefined), opts: HttpOptions): Promise<HttpServer> {
  const current = typeof target === 'function' ? target : () => target;
  const app = Fastify({ logger: false });
  const loop = new LoopLag(10_000);
  const starting = { error: 'starting', message: 'the server is starting (connecting to Kafka, starting worker threads)' };

  // Static: it also answers while the server is starting (its polls of /status then show why not yet).
  app.get('/', async (_req, reply) => reply.headers(STATUS_PAGE_HEADERS).send(STATUS_PAGE_HTML));

  app.get('/metrics', async (_req, reply) => {
    const server = current();
    if (!server) return reply.code(503).send(starting);
    const text = await server.metrics();
    return reply.header('content-type', server.metricsContentType).send(text);
  });

  app.get('/health', async (_req, reply) => {
    const server = current();
    const report = server?.health(opts.poolDeadAfterMs) ?? { healthy: true, problems: [], warnings: [], state: 'starting', pool: undefined };
    const lagMs = Math.round(loop.maxMs());
    const problems = [...report.problems];
    if (lagMs > opts.maxEventLoopLagMs) problems.push(`main event loop lagged ${lagMs} ms (limit ${opts.maxEventLoopLagMs} ms)`);
    const healthy = problems.length === 0;
    return reply.code(healthy ? 200 : 503).send({ status: healthy ? 'ok' : 'unhealthy', problems, warnings: report.warnings, state: report.state, eventLoopLagMs: lagMs, pool: report.pool ?? null });
  });

  app.get('/ready', async (_req, reply) => {
    const server = current();
    const groups = server?.status().groups.map((g) => ({ name: g.name, joined: g.joined })) ?? [];
    const ready = server?.ready ?? false;
    return reply.code(ready ? 200 : 503).send({ ready, state: server?.state ?? 'starting', groups });
  });

  app.get('/status', async (_req, reply) => {
    const server = current();
    if (!server) return reply.code(503).send(starting);
    return { state: server.state, ready: server.ready, ...server.status() };
  });

  jsonFallbacks(app, ['/', '/metrics', '/health', '/ready', '/status'], opts.logger);

  let url: string;
  try {
    url = await listen(app, opts.host, opts.port);
  } catch (err) {
    loop.stop();
    throw err;
  }
  opts.logger?.info({ url }, `metrics and health on ${url} (/metrics /health /ready /status; status page: /)`);
  return {
    url,
    fastify: app,
    async close() {
      loop.stop();
      await app.close();
    },
  };
}
