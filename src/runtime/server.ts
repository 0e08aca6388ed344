/**
 * The consumer server: for each selected consumer group a fetcher (kafkajs
 * consumer) + scheduler + offset tracker on the main thread, sharing one
 * worker pool (pool backend) and one inline runner (inline backend).
 *
 * Lifecycle: start() → running → stop(): pause fetching, wait for in-flight
 * batches, shutdown() hooks, final commit, leave the groups. Signals are the
 * caller's business (the CLI wires SIGTERM/SIGINT), so tests and embedders
 * can drive it directly.
 */
import type { App } from '../app/app.ts';
import type { ConsumerGroupRoute, TopicRoute } from '../app/config.ts';
import { CommitUnverifiedError, NoActiveRoutesError, PartitaError, ShutdownTimeoutError, UnknownConsumerGroupError, serializeError, type FetcherCrashedError } from '../errors.ts';
import { createLogger, type Logger } from '../logger.ts';
import { InlineExecutor, PoolExecutor, type Executor } from './executors.ts';
import { DeadLetterDispatcher } from './dead-letter.ts';
import { GroupFetcher } from './fetcher.ts';
import { OffsetTracker } from './offset-tracker.ts';
import { PartitionRunner } from './partition-runner.ts';
import { WorkerPool } from './pool.ts';
import { Scheduler, type PartitionStatus } from './scheduler.ts';
import type { HookOutcome } from './wire.ts';
import { randomUUID } from 'node:crypto';
import type { KafkaProducer } from '../producer/producer.ts';
import { serveProducePort } from '../producer/port-producer.ts';
import { LagMonitor } from '../metrics/lag-monitor.ts';
import { ServerMetrics } from '../metrics/server-metrics.ts';
import { ThreadSnapshots } from '../metrics/thread-metrics.ts';
import type { PoolHealth } from './pool.ts';

export interface ServerOptions {
  app: App;
  /** Path of the boot file the app came from; worker threads import it. Required when a route uses the pool backend. */
  bootFile?: string;
  /** Run only these consumer groups (default: all). */
  consumerGroups?: string[];
  logger?: Logger;
  /**
   * Called when a fetcher crashes beyond repair, after the server logged it and
   * began a graceful stop (an embedder decides whether the process exits; the
   * CLI exits with code 1).
   */
  onFatal?: (err: FetcherCrashedError) => void;
}

export interface GroupStatus {
  name: string;
  joined: boolean;
  /** Partitions assigned to this process, by topic. */
  assignment: Record<string, number[]>;
  /** Partitions this process has fetched from, with their state and lag. */
  partitions: Array<PartitionStatus & { lag: number | undefined; logEndOffset: number | undefined }>;
}

export interface HealthReport {
  healthy: boolean;
  /** Why not, in words (empty when healthy). */
  problems: string[];
  state: string;
  pool?: PoolHealth;
}

export interface ServerStatus {
  groups: GroupStatus[];
  /** Messages processed successfully since start, all groups. */
  processedMessages: number;
  /** Messages moved to dead-letter topics since start. */
  deadLettered: number;
  /** Worker threads that died and were replaced since start. */
  threadsLost: number;
  /** Partitions pinned to each worker thread. */
  threads: Record<number, string[]>;
  /** Worker pool health (absent without pool routes). */
  pool?: PoolHealth;
}

interface GroupRuntime {
  group: ConsumerGroupRoute;
  offsets: OffsetTracker;
  fetcher: GroupFetcher;
  lag: LagMonitor;
  deadLetters: DeadLetterDispatcher | undefined;
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
  readonly #app: App;
  readonly #groups: GroupRuntime[] = [];
  readonly #pool: WorkerPool | undefined;
  readonly #inline: PartitionRunner;
  readonly #poolExecutor: PoolExecutor | undefined;
  readonly #inlineExecutor: InlineExecutor;
  readonly #metrics: ServerMetrics;
  readonly #snapshots: ThreadSnapshots | undefined;
  #processed = 0;
  #deadLettered = 0;
  #threadsLost = 0;
  #state: 'created' | 'running' | 'stopping' | 'stopped' = 'created';
  #stopPromise: Promise<void> | undefined;

  private constructor(opts: ServerOptions, selected: ConsumerGroupRoute[], routes: TopicRoute[]) {
    this.#app = opts.app;
    this.logger = opts.logger ?? createLogger();
    this.#inline = new PartitionRunner(opts.app);
    this.#inlineExecutor = new InlineExecutor(this.#inline);
    this.#metrics = new ServerMetrics({
      groups: () =>
        this.#groups.map((g) => {
          const assignment = g.fetcher.assignment;
          const partitions = Object.entries(assignment).flatMap(([topic, ps]) =>
            ps.map((partition) => ({ topic, partition, committed: g.offsets.committed(topic, partition), lag: g.lag.get(topic, partition)?.lag })),
          );
          return { name: g.group.name, assigned: partitions.length, ...g.fetcher.scheduler.summary(), partitions };
        }),
      pool: () => {
        const h = this.#pool?.health();
        return h && { size: h.size, ready: h.ready, queued: h.waiting };
      },
      threadSnapshots: () => this.#snapshots?.all() ?? [],
    });
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
        onThreadLost: (threadId, keys) => this.#threadLost(threadId, keys),
        onError: (err) => this.logger.error({ err }, 'worker thread failed outside a batch; it is replaced'),
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
      const offsets = new OffsetTracker();
      const groupLogger = this.logger.child({ group: group.name });
      this.#metrics.declareGroup(group.name);
      for (const r of groupRoutes) this.#metrics.declareRoute(r);
      const deadLetters = groupRoutes.some((r) => r.deadLetter) ? new DeadLetterDispatcher(group.kafka, groupLogger) : undefined;
      const fetcher = new GroupFetcher({
        group,
        routes: groupRoutes,
        offsets,
        logger: groupLogger,
        metrics: this.#metrics,
        onFatal,
        scheduler: (fetch) =>
          new Scheduler({
            group,
            fetch,
            offsets,
            logger: groupLogger,
            executorFor: (route) => this.#executorFor(route),
            deadLetters,
            onProcessed: (route, partition, n, outcome) => {
              this.#processed += n;
              this.#metrics.batchProcessed(route, partition, n, outcome.durationMs, route.backend === 'inline' ? 'inline' : outcome.threadId);
            },
            onFailed: (route, _partition, error, outcome) => {
              this.#metrics.batchFailed(route, error.code, outcome?.durationMs, outcome && (route.backend === 'inline' ? 'inline' : outcome.threadId));
            },
            onRetry: (route) => this.#metrics.retried(route),
            onDeadLettered: (route) => {
              this.#deadLettered += 1;
              this.#metrics.deadLettered(route);
            },
          }),
      });
      const lag = new LagMonitor(group, () => fetcher.assignment, groupLogger);
      this.#groups.push({ group, offsets, fetcher, lag, deadLetters });
    }
  }

  #threadLost(threadId: number, keys: string[]): void {
    this.#threadsLost += 1;
    this.#metrics.threadLost();
    this.#snapshots?.forget(threadId);
    this.logger.warn({ threadId, partitions: keys.map((k) => k.split('\u0000').join('/')) }, 'worker thread died; its partitions restart from their processed offsets on a live thread');
    for (const key of keys) {
      const [group, topic, partition] = key.split('\u0000');
      this.#groups.find((g) => g.group.name === group)?.fetcher.scheduler.threadLost(topic!, Number(partition));
    }
  }

  #executorFor(route: TopicRoute): Executor {
    return route.backend === 'pool' ? this.#poolExecutor! : this.#inlineExecutor;
  }

  /** Validates the selection, starts the worker pool and every group's fetcher. */
  static async start(opts: ServerOptions): Promise<Server> {
    const selected = selectGroups(opts.app, opts.consumerGroups);
    const routes = selected.flatMap((g) => g.topics.filter((t) => t.active));
    if (routes.length === 0) throw new NoActiveRoutesError(selected.map((g) => g.name));
    const server = new Server(opts, selected, routes);
    try {
      await server.#pool?.ready();
      for (const g of server.#groups) await g.fetcher.start();
      for (const g of server.#groups) g.lag.start(opts.app.config.metrics.intervalMs);
    } catch (err) {
      await server.#teardown();
      throw err;
    }
    server.#state = 'running';
    server.logger.info(
      { groups: server.#groups.map((g) => g.group.name), threads: server.#pool?.threadIds().length ?? 0, topics: routes.map((r) => `${r.group}/${r.topic}`) },
      'partita server started',
    );
    return server;
  }

  get state(): string {
    return this.#state;
  }

  /** True when every group has joined and received its assignment. */
  get ready(): boolean {
    return this.#state === 'running' && this.#groups.every((g) => g.fetcher.joined);
  }

  status(): ServerStatus {
    const threads: Record<number, string[]> = {};
    for (const [id, keys] of this.#pool?.pinsPerThread() ?? []) threads[id] = keys.map((k) => k.split('\u0000').join('/'));
    return {
      groups: this.#groups.map((g) => ({
        name: g.group.name,
        joined: g.fetcher.joined,
        assignment: g.fetcher.assignment,
        partitions: g.fetcher.scheduler.status().map((p) => {
          const lag = g.lag.get(p.topic, p.partition);
          return { ...p, lag: lag?.lag, logEndOffset: lag?.logEndOffset };
        }),
      })),
      processedMessages: this.#processed,
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

  get metricsContentType(): string {
    return this.#metrics.contentType;
  }

  /** Refreshes consumer lag from Kafka now instead of at the next interval. */
  async refreshLag(): Promise<void> {
    await Promise.all(this.#groups.map((g) => g.lag.refresh()));
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
    return { healthy: problems.length === 0, problems, state: this.#state, ...(pool ? { pool } : {}) };
  }

  /** What is still running (for a forced or timed-out shutdown's message). */
  busy(): string[] {
    return this.#groups.flatMap((g) => g.fetcher.scheduler.busy());
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
    for (const g of this.#groups) g.fetcher.pauseAll();
    await Promise.all(this.#groups.map((g) => g.fetcher.scheduler.drain(deadline)));
    const hooks: HookOutcome[] = [await this.#inline.shutdown()];
    if (this.#pool) hooks.push(...(await this.#pool.shutdownAll()));
    for (const h of hooks) {
      for (const e of h.errors) this.logger.error({ err: e.error, topic: e.topic, partition: e.partition }, 'shutdown() failed');
      for (const c of h.commits) this.#groups.find((g) => g.group.name === c.group)?.offsets.markProcessed(c.topic, c.partition, c.offset);
    }
    // Final commits, verified against Kafka's own record once the groups are left.
    const unverified = (await Promise.all(this.#groups.map((g) => g.fetcher.stop(deadline)))).flat();
    await Promise.all(this.#groups.map((g) => g.deadLetters?.close()));
    await Promise.all(this.#groups.map((g) => g.lag.stop()));
    await this.#pool?.destroy();
    // Everything committed was acknowledged already; this sends what the app produced on its own.
    if (this.#app.hasProducer) await this.#app.producer.disconnect().catch((err) => this.logger.error({ err }, 'flushing the producer on shutdown failed'));
    this.#snapshots?.close();
    if (unverified.length > 0) {
      const err = new CommitUnverifiedError(unverified);
      this.logger.error({ err, partitions: unverified }, 'final commits not found in Kafka');
      throw err;
    }
    this.logger.info('final commits verified in Kafka');
  }

  /** Terminates one worker thread, as a crash would (for tests and fault drills). */
  terminateThread(threadId: number): Promise<boolean> {
    return this.#pool?.terminateThread(threadId) ?? Promise.resolve(false);
  }

  /** Best-effort cleanup after a failed start. */
  async #teardown(): Promise<void> {
    await Promise.all(this.#groups.map((g) => g.fetcher.stop().catch(() => {})));
    await Promise.all(this.#groups.map((g) => g.deadLetters?.close().catch(() => {})));
    await Promise.all(this.#groups.map((g) => g.lag.stop()));
    await this.#pool?.destroy().catch(() => {});
    this.#snapshots?.close();
  }
}

