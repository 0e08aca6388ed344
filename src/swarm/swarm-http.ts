/**
 * The swarm's one HTTP endpoint (its processes bind none):
 *
 *   GET /metrics  every process's metrics in one exposition (aggregate-metrics.ts), and the swarm's own
 *   GET /health   200 while every process runs and reports healthy; a process down longer than
 *                 downLimitMs, or unhealthy itself, or a swarm that is stopping: 503
 *   GET /ready    200 when every process runs and all its consumer groups have joined
 *   GET /status   the swarm: each process slot, its state, restarts and its server's /status
 *
 * Same guarantee as a server's endpoint: runtime state only, never configuration.
 */
import Fastify from 'fastify';
import { Counter, Gauge, Registry } from 'prom-client';
import { jsonFallbacks, listen } from '../http/fastify-app.ts';
import type { Logger } from '../logger.ts';
import { aggregateSwarmMetrics, type MetricJson } from './aggregate-metrics.ts';
import type { MemberState, Supervisor } from './supervisor.ts';

export interface SwarmHttpOptions {
  host: string;
  port: number;
  logger?: Logger;
  /** Served at `GET /` (the status page) when given. */
  page?: { html: string; headers?: Record<string, string> };
}

export interface SwarmHttp {
  readonly url: string;
  close(): Promise<void>;
}

const MEMBER_STATES: MemberState[] = ['starting', 'running', 'restarting', 'stopping', 'stopped', 'failed'];

interface HealthBody {
  healthy?: boolean;
  problems?: string[];
  warnings?: string[];
}

/** The supervisor's own series: how many processes are in which state, restarts per process. */
function swarmRegistry(supervisor: Supervisor): Registry {
  const registry = new Registry();
  new Gauge({
    name: 'partita_swarm_processes',
    help: 'Server processes of the swarm, by state.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const members = supervisor.members();
      for (const state of MEMBER_STATES) this.set({ state }, members.filter((m) => m.state === state).length);
    },
  });
  new Counter({
    name: 'partita_swarm_restarts_total',
    help: 'Restarts of a swarm process after it exited unexpectedly.',
    labelNames: ['process'],
    registers: [registry],
    collect() {
      // The supervisor counts; the counter mirrors it when scraped.
      this.reset();
      for (const m of supervisor.members()) this.inc({ process: String(m.index) }, m.restarts);
    },
  });
  return registry;
}

export async function startSwarmHttp(supervisor: Supervisor, opts: SwarmHttpOptions): Promise<SwarmHttp> {
  const app = Fastify({ logger: false });
  const own = swarmRegistry(supervisor);
  const endpoints = ['/metrics', '/health', '/ready', '/status', ...(opts.page ? ['/'] : [])];

  app.get('/metrics', async (_req, reply) => {
    const answers = await supervisor.ask('metrics');
    const perProcess = answers.filter((a) => Array.isArray(a.body)).map((a) => ({ index: a.member.index, metrics: a.body as MetricJson[] }));
    const registry = aggregateSwarmMetrics(perProcess, await own.getMetricsAsJSON());
    return reply.header('content-type', Registry.PROMETHEUS_CONTENT_TYPE).send(await registry.metrics());
  });

  app.get('/health', async (_req, reply) => {
    const answers = await supervisor.ask('health');
    const problems: string[] = [];
    const warnings: string[] = [];
    if (supervisor.state !== 'running') problems.push(`swarm is ${supervisor.state}`);
    for (const { member: m, body } of answers) {
      const h = body as HealthBody | undefined;
      if (m.state === 'running' && h) {
        for (const p of h.problems ?? []) problems.push(`process ${m.index}: ${p}`);
        for (const w of h.warnings ?? []) warnings.push(`process ${m.index}: ${w}`);
      } else if (m.state === 'failed') {
        problems.push(`process ${m.index} failed (${m.lastExit ?? 'no exit'})`);
      } else if (supervisor.state === 'running') {
        const down = `process ${m.index} is ${m.state} for ${Math.round(m.downForMs / 1000)} s${m.lastExit ? ` (last run: ${m.lastExit})` : ''}`;
        if (m.downForMs > supervisor.downLimitMs) problems.push(down);
        else warnings.push(down);
      }
    }
    const healthy = problems.length === 0;
    return reply.code(healthy ? 200 : 503).send({ status: healthy ? 'ok' : 'unhealthy', problems, warnings, state: supervisor.state, processes: answers.map((a) => a.member) });
  });

  app.get('/ready', async (_req, reply) => {
    const answers = await supervisor.ask('ready');
    const processes = answers.map((a) => ({ index: a.member.index, state: a.member.state, ready: a.body === true }));
    const ready = supervisor.state === 'running' && processes.every((p) => p.ready);
    return reply.code(ready ? 200 : 503).send({ ready, state: supervisor.state, processes });
  });

  app.get('/status', async () => {
    const answers = await supervisor.ask('status');
    const processes = answers.map((a) => ({ ...a.member, status: a.body ?? null }));
    const ready = supervisor.state === 'running' && answers.every((a) => a.member.state === 'running' && (a.body as { ready?: boolean } | undefined)?.ready === true);
    return { swarm: true, state: supervisor.state, ready, processes };
  });

  if (opts.page) {
    const page = opts.page;
    app.get('/', async (_req, reply) => reply.headers({ 'content-type': 'text/html; charset=utf-8', ...page.headers }).send(page.html));
  }

  jsonFallbacks(app, endpoints, opts.logger);
  const url = await listen(app, opts.host, opts.port);
  opts.logger?.info({ url }, `swarm metrics and health on ${url} (${endpoints.join(' ')})`);
  return { url, close: () => app.close() };
}
