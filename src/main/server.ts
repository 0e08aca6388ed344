/**
 * The consumer server: the lifecycle of one process. For each selected
 * consumer group a ConsumerGroup (source, scheduler, offsets, dead letters,
 * lag) on the main thread, all sharing one worker pool (pool backend) and one
 * inline runner (inline backend), one instrumentation bus, and the
 * Prometheus metrics subscribed to it.
 *
 * Lifecycle: start() → running → stop(): pause fetching, wait for in-flight
 * batches, shutdown() hooks, final commit, leave the groups. Signals are the
 * caller's business (the CLI wires SIGTERM/SIGINT), so tests and embedders
 * can drive it directly.
 */
import { randomUUID } from 'node:crypto';
import type { App } from '../app/app.ts';
import type { ConsumerGroupRoute, TopicRoute } from '../config/resolve.ts';
import { PartitionRunner } from '../runner/partition-runner.ts';
import { CommitUnverifiedError, NoActiveRoutesError, PartitaError, ShutdownTimeoutError, UnknownConsumerGroupError, serializeError, type FetcherCrashedError } from '../errors.ts';
import type { KafkaProducer } from '../kafka/producer.ts';
import { createLogger, type Logger } from '../logger.ts';
import { ServerMetrics } from '../metrics/prometheus.ts';
import { ThreadSnapshots } from '../metrics/thread-snapshots.ts';
import { describePartition, laneOwner, parsePartitionKey } from '../protocol/partition-id.ts';
import type { HookOutcome } from '../protocol/tasks.ts';
import type { Executor } from './dispatch/executor.ts';
import { InlineExecutor } from './dispatch/inline.ts';
import { PoolExecutor } from './dispatch/pool-executor.ts';
import { WorkerPool } from './dispatch/worker-pool.ts';
import { Instrumentation } from '../events.ts';
import { ConsumerGroup } from './group.ts';
import { logEvents } from './log-events.ts';
import { serveProducePort } from './producer-port.ts';
import type { GroupStatus, HealthReport, PartitionStatus, PoolHealth, ServerStatus } from './status.ts';

export type { GroupStatus, HealthReport, PartitionStatus, PoolHealth, ServerStatus };

export interface ServerOptions {
  app: App;
  /** Path of the boot file the app came from; worker threads import it. Required when a route uses the pool backend. */
  bootFile?: string;
  /** Run only these consumer groups (default: all). */
  consumerGroups?: string[];
  logger?: Logger;
  /**
   * Called when a group's batch source crashes beyond repair, after the server logged it and
   * began a graceful stop (an embedder decides whether the process exits; the
   * CLI exits with code 1).
   */
  onFatal?: (err: FetcherCrashedError) => void;
  /**
   * Where the server's events go (see Instrumentation). Pass your own to
   * subscribe before the start (the first `group.joined` and
   * `partition.assigned` happen during it); `server.events` is the same bus.
   */
  events?: Instrumentation;
}

/** The groups to run, validated against the routes. */
export function selectGroups(app: App, names: string[] | undefined): ConsumerGroupRoute[] {
  const all = app.consumerGroups;
  if (!names || names.length === 0) return [...all];
  const unknown = names.filter((n) => !all.some((g) => g.name === n));
  if (unknown.length > 0) throw new UnknownConsumerGroupError(unknown, all.map((g) => g.name));
  return all.filter((g) => names.includes(g.name));
}

export class Server {
  readonly logger: Logger;
  /** The server's instrumentation events: `server.events.on('batch.processed', (e) => …)`. */
  readonly events: Instrumentation;
  readonly #app: App;
  readonly #groups: ConsumerGroup[] = [];
  readonly #pool: WorkerPool | undefined;
  readonly #inline: PartitionRunner;
  readonly #poolExecutor: PoolExecutor | undefined;
  readonly #inlineExecutor: InlineExecutor;
  readonly #metrics: ServerMetrics;
  readonly #snapshots: ThreadSnapshots | undefined;
  #processed = 0;
  #deadLettered = 0;
  #threadsLost = 0;
  #failedBatches = 0;
  #retries = 0;
  readonly #startedAt = Date.now();
  #state: 'created' | 'running' | 'stopping' | 'stopped' = 'created';
  #stopPromise: Promise<void> | undefined;

  private constructor(opts: ServerOptions, selected: ConsumerGroupRoute[], routes: TopicRoute[]) {
    this.#app = opts.app;
    this.logger = opts.logger ?? createLogger();
    this.events = opts.events ?? new Instrumentation();
    const events = this.events;
    events.onListenerError = (name, err) => this.logger.error({ err, event: name }, 'an instrumentation listener threw (reported once per event); processing goes on');
    logEvents(events, this.logger);
    events.on('batch.processed', (e) => (this.#processed += e.messages));
    events.on('dead_letter.written', () => (this.#deadLettered += 1));
    events.on('worker.lost', () => (this.#threadsLost += 1));
    events.on('batch.failed', () => (this.#failedBatches += 1));
    events.on('batch.retried', () => (this.#retries += 1));
    this.#inline = new PartitionRunner(opts.app);
    this.#inlineExecutor = new InlineExecutor(this.#inline);
    if (routes.some((r) => r.backend === 'pool')) {
      if (!opts.bootFile) throw new PartitaError('BOOT_FILE_INVALID', 'the pool backend needs the boot file path (worker threads import it): pass bootFile');
      const metricsChannel = `partita-metrics-${randomUUID()}`;
      this.#snapshots = new ThreadSnapshots(metricsChannel);
      this.#pool = new WorkerPool({
        metricsChannel,
        metricsIntervalMs: opts.app.config.metrics.intervalMs,
        onProducerPort: (_threadId, port) => serveProducePort(port, opts.app.producer as KafkaProducer, serializeError),
        bootFile: opts.bootFile,
        threads: opts.app.config.concurrency,
        resourceLimits: { maxYoungGenerationSizeMb: opts.app.config.threadMemory.youngGenerationMb, ...(opts.app.config.threadMemory.oldGenerationMb ? { maxOldGenerationSizeMb: opts.app.config.threadMemory.oldGenerationMb } : {}) },
        onThreadLost: (threadId, keys) => this.#threadLost(threadId, keys),
        onError: (error) => events.emit('worker.error', { error }),
      });
      this.#poolExecutor = new PoolExecutor(this.#pool, (group) => opts.app.group(group)!.settings.timeoutGraceMs);
    }
    const onFatal = (err: FetcherCrashedError) => {
      this.logger.fatal({ err }, 'fetcher crashed; shutting down');
      void this.stop().catch((stopErr) => this.logger.error({ err: stopErr }, 'shutdown after a fetcher crash failed'));
      opts.onFatal?.(err);
    };
    for (const group of selected) {
      const groupRoutes = routes.filter((r) => r.group === group.name);
      if (groupRoutes.length === 0) continue;
      this.#groups.push(
        new ConsumerGroup({ group, routes: groupRoutes, executorFor: (route) => this.#executorFor(route), events, logger: this.logger.child({ group: group.name }), onFatal }),
      );
    }
    this.#metrics = new ServerMetrics({
      events,
      groups: this.#groups.map((g) => g.name),
      // Every active route of the selected groups belongs to one of #groups.
      routes,
      state: {
        groups: () => this.#groups.map((g) => g.gauges()),
        pool: () => {
          const h = this.#pool?.health();
          return h && { size: h.size, ready: h.ready, queued: h.waiting };
        },
        threadSnapshots: () => this.#snapshots?.all() ?? [],
      },
    });
  }

  /** A worker thread died: its partitions restart from their processed offsets on a live thread. */
  #threadLost(threadId: number, keys: string[]): void {
    this.#snapshots?.forget(threadId);
    // A partition spread over threads may have had several lanes on this one: once each.
    const partitions = [...new Set(keys.map(laneOwner))].map(parsePartitionKey);
    this.events.emit('worker.lost', { threadId, partitions });
    for (const p of partitions) this.#groups.find((g) => g.name === p.group)?.threadLost(p.topic, p.partition);
  }

  #executorFor(route: TopicRoute): Executor {
    return route.backend === 'pool' ? this.#poolExecutor! : this.#inlineExecutor;
  }

  /** Validates the selection, starts the worker pool and every group. */
  static async start(opts: ServerOptions): Promise<Server> {
    const selected = selectGroups(opts.app, opts.consumerGroups);
    const routes = selected.flatMap((g) => g.topics.filter((t) => t.active));
    if (routes.length === 0) throw new NoActiveRoutesError(selected.map((g) => g.name));
    const server = new Server(opts, selected, routes);
    try {
      await server.#pool?.ready();
      for (const g of server.#groups) await g.start(opts.app.config.metrics.intervalMs);
    } catch (err) {
      await server.#teardown();
      throw err;
    }
    server.#state = 'running';
    server.logger.info(
      { groups: server.#groups.map((g) => g.name), threads: server.#pool?.threadIds().length ?? 0, topics: routes.map((r) => `${r.group}/${r.topic}`) },
      'partita server started',
    );
    return server;
  }

  get state(): string {
    return this.#state;
  }

  /** True when every group has joined and received its assignment. */
  get ready(): boolean {
    return this.#state === 'running' && this.#groups.every((g) => g.joined);
  }

  status(): ServerStatus {
    const threads: Record<number, string[]> = {};
    for (const [id, keys] of this.#pool?.pinsPerThread() ?? []) threads[id] = keys.map((k) => describePartition(parsePartitionKey(k)));
    return {
      pid: process.pid,
      uptimeMs: Date.now() - this.#startedAt,
      groups: this.#groups.map((g) => g.status()),
      processedMessages: this.#processed,
      failedBatches: this.#failedBatches,
      retries: this.#retries,
      deadLettered: this.#deadLettered,
      threadsLost: this.#threadsLost,
      threads,
      ...(this.#pool ? { pool: this.#pool.health() } : {}),
    };
  }

  /** The Prometheus exposition of this process (all threads). */
  metrics(): Promise<string> {
    return this.#metrics.exposition();
  }

  /** The same metrics as prom-client JSON (aggregated across the processes of `partita swarm`). */
  metricsJson(): Promise<unknown[]> {
    return this.#metrics.json();
  }

  get metricsContentType(): string {
    return this.#metrics.contentType;
  }

  /**
   * Liveness of the processing side: the pool (when used) has a thread able
   * to run tasks, or had one less than `poolDeadAfterMs` ago.
   */
  health(poolDeadAfterMs = this.#app.config.http.poolDeadAfterMs): HealthReport {
    const problems: string[] = [];
    const pool = this.#pool?.health();
    if (this.#state === 'stopped') problems.push('server is stopped');
    if (pool && this.#state === 'running') {
      if (pool.destroyed) problems.push('worker pool is destroyed');
      else if (pool.noReadyThreadMs >= poolDeadAfterMs) {
        problems.push(
          `no worker thread has been able to run tasks for ${Math.round(pool.noReadyThreadMs / 1000)} s` + (pool.broken > 0 ? ` (${pool.broken} thread(s) could not load the boot file)` : ''),
        );
      }
    }
    const warnings: string[] = [];
    for (const g of this.#groups) {
      for (const p of g.status().partitions) {
        if (p.corruptFrom !== undefined) warnings.push(`${g.name}/${p.topic}/${p.partition}: the records from offset ${p.corruptFrom} are corrupt (BATCH_CORRUPT); fetching them again with backoff, the partition does not move past them`);
      }
    }
    return { healthy: problems.length === 0, problems, warnings, state: this.#state, ...(pool ? { pool } : {}) };
  }

  /** What is still running (for a forced or timed-out shutdown's message). */
  busy(): string[] {
    return this.#groups.flatMap((g) => g.busy());
  }

  /**
   * Graceful stop, bounded by the app's shutdownTimeoutMs: pause fetching,
   * wait for in-flight batches, shutdown() hooks, commit, leave the groups.
   * Rejects with ShutdownTimeoutError when the budget runs out.
   */
  stop(): Promise<void> {
    this.#stopPromise ??= this.#stop();
    return this.#stopPromise;
  }

  async #stop(): Promise<void> {
    this.#state = 'stopping';
    const timeoutMs = this.#app.config.shutdownTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ShutdownTimeoutError(timeoutMs, this.busy())), timeoutMs);
    });
    try {
      await Promise.race([this.#graceful(deadline), timeout]);
      this.logger.info('partita server stopped');
    } finally {
      clearTimeout(timer);
      this.#state = 'stopped';
    }
  }

  async #graceful(deadline: number): Promise<void> {
    for (const g of this.#groups) g.pauseAll();
    await Promise.all(this.#groups.map((g) => g.drain(deadline)));
    const hooks: HookOutcome[] = [await this.#inline.shutdown()];
    if (this.#pool) hooks.push(...(await this.#pool.shutdownAll()));
    for (const h of hooks) {
      for (const e of h.errors) this.logger.error({ err: e.error, topic: e.topic, partition: e.partition }, 'shutdown() failed');
      for (const c of h.commits) this.#groups.find((g) => g.name === c.group)?.markProcessed(c.topic, c.partition, c.offset);
    }
    // Final commits, verified against Kafka's own record once the groups are left.
    const finals = await Promise.all(this.#groups.map((g) => g.stop(deadline)));
    const unverified = finals.flatMap((f) => f.unverified);
    const unconfirmed = finals.flatMap((f) => f.unconfirmed);
    await this.#pool?.destroy();
    // Everything committed was acknowledged already; this sends what the app produced on its own.
    if (this.#app.hasProducer) await this.#app.producer.disconnect().catch((err) => this.logger.error({ err }, 'flushing the producer on shutdown failed'));
    this.#snapshots?.close();
    if (unverified.length > 0) {
      const err = new CommitUnverifiedError(unverified);
      this.logger.error({ err, partitions: unverified }, 'final commits not found in Kafka');
      throw err;
    }
    if (unconfirmed.length > 0) {
      // The truth, neither more nor less: acknowledged commits are committed; the second check could not run.
      this.logger.warn({ partitions: unconfirmed.map((u) => ({ group: u.group, topic: u.topic, partition: u.partition, acknowledged: u.processed })) }, 'final commits acknowledged by the group coordinator; Kafka could not be asked to confirm them (see the warning before)');
      return;
    }
    this.logger.info('final commits verified in Kafka');
  }

  /** Terminates one worker thread, as a crash would (for tests and fault drills). */
  terminateThread(threadId: number): Promise<boolean> {
    return this.#pool?.terminateThread(threadId) ?? Promise.resolve(false);
  }

  /** Best-effort cleanup after a failed start. */
  async #teardown(): Promise<void> {
    await Promise.all(this.#groups.map((g) => g.teardown()));
    await this.#pool?.destroy().catch(() => {});
    this.#snapshots?.close();
  }
}
