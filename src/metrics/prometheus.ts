/**
 * The Prometheus metrics of one server process, kept on the main thread. A
 * subscriber of the server's instrumentation events: nothing calls it.
 *
 * - Processing metrics (messages, batches, durations, errors, busy time) come
 *   from the `batch.*` events, whose durations were measured on the thread
 *   that ran consume(): exact, and O(1) per batch.
 * - Fetch, rebalance, commit and worker events are counted as they happen.
 * - Gauges of state (queues, pauses, assignments, lag, pool) are read from
 *   the runtime when scraped, through `collect` callbacks.
 * - Runtime metrics of each thread arrive as snapshots (thread-metrics.ts)
 *   and are merged at scrape time.
 *
 * Label cardinality: `partition` only on per-partition counters and gauges;
 * histograms are per consumer group and topic.
 */
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { TopicRoute } from '../config/resolve.ts';
import type { Instrumentation, ThreadRef } from '../events.ts';
import { threadRegistry } from './thread-registry.ts';
import type { MetricsSnapshot } from '../protocol/thread-metrics.ts';
import { WeightedHistogram } from './weighted-histogram.ts';

/** Read when scraped: the current state of the runtime. */
/** What the gauges read of one consumer group when scraped. */
export interface GroupGauges {
  name: string;
  assigned: number;
  paused: number;
  inFlight: number;
  queued: number;
  partitions: Array<{ topic: string; partition: number; committed: number | undefined; lag: number | undefined }>;
}

export interface RuntimeState {
  groups(): GroupGauges[];
  pool(): { size: number; ready: number; queued: number } | undefined;
  threadSnapshots(): MetricsSnapshot[];
}

const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const MESSAGE_BUCKETS = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];
const SIZE_BUCKETS = [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 50_000];

/**
 * prom-client default gauges whose names end in `_total`, which Prometheus
 * reserves for counters (promtool rejects them). Their per-type siblings
 * (`nodejs_active_handles{type}` …) carry the same information.
 */
const MISNAMED_GAUGES = new Set(['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']);

/** Bounded on purpose: user errors' own codes would make the label unbounded. */
const FAILURE_REASONS = ['error', 'timeout', 'malformed', 'corrupt', 'thread_lost'] as const;

const GROUP_TOPIC = ['consumer_group', 'topic'] as const;
const PARTITION = ['consumer_group', 'topic', 'partition'] as const;

export class ServerMetrics {
  readonly registry = new Registry();
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
  readonly #state: RuntimeState;
  readonly #mainThread = threadRegistry('main');

  readonly #consumed = new Counter({ name: 'partita_messages_consumed_total', help: 'Messages processed successfully by consume().', labelNames: PARTITION, registers: [this.registry] });
  readonly #batches = new Counter({ name: 'partita_batches_consumed_total', help: 'Batches processed successfully by consume().', labelNames: GROUP_TOPIC, registers: [this.registry] });
  readonly #batchSeconds = new Histogram({ name: 'partita_batch_processing_seconds', help: 'Time consume() took per batch, measured on the thread that ran it.', labelNames: GROUP_TOPIC, buckets: DURATION_BUCKETS, registers: [this.registry] });
  readonly #messageSeconds = new WeightedHistogram('partita_message_processing_seconds', 'Processing time per message (its batch time divided by its message count), one observation per message.', MESSAGE_BUCKETS, this.registry);
  readonly #errors = new Counter({ name: 'partita_consume_errors_total', help: 'Failed batches by reason: error (consume() or a hook threw), timeout (ran past timeoutMs), malformed (a payload could not be deserialized), corrupt (fetched records failed their CRC-32C or did not decode; fetched again), thread_lost (its worker thread died).', labelNames: [...GROUP_TOPIC, 'reason'], registers: [this.registry] });
  readonly #retries = new Counter({ name: 'partita_retries_total', help: 'Times a partition was sent back to re-process from its first unprocessed offset.', labelNames: GROUP_TOPIC, registers: [this.registry] });
  readonly #deadLetters = new Counter({ name: 'partita_dead_letters_total', help: 'Messages moved to a dead-letter topic (after Kafka acknowledged the write).', labelNames: GROUP_TOPIC, registers: [this.registry] });
  readonly #busy = new Counter({ name: 'partita_worker_busy_seconds_total', help: 'Sum of batch processing time per thread; async consumers overlap batches, so it can grow faster than wall time.', labelNames: ['thread'], registers: [this.registry] });

  readonly #fetched = new Counter({ name: 'partita_messages_fetched_total', help: 'Records received from Kafka and handed to the scheduler (counted from record batch headers, before the route filter).', labelNames: PARTITION, registers: [this.registry] });
  readonly #filtered = new Counter({ name: 'partita_messages_filtered_total', help: "Messages dropped by a route's filter before processing.", labelNames: GROUP_TOPIC, registers: [this.registry] });
  readonly #fetchedBytes = new Counter({ name: 'partita_fetched_bytes_total', help: 'Record-set bytes received from Kafka, as fetched (compressed).', labelNames: PARTITION, registers: [this.registry] });
  readonly #batchSize = new Histogram({ name: 'partita_fetch_batch_messages', help: 'Messages per fetched partition batch.', labelNames: GROUP_TOPIC, buckets: SIZE_BUCKETS, registers: [this.registry] });
  readonly #fetchSeconds = new Histogram({ name: 'partita_fetch_duration_seconds', help: 'Duration of one fetch request round (kafkajs FETCH event).', labelNames: ['consumer_group'], buckets: DURATION_BUCKETS, registers: [this.registry] });
  readonly #rebalances = new Counter({ name: 'partita_rebalances_total', help: 'Consumer group joins (the first one and every rebalance).', labelNames: ['consumer_group'], registers: [this.registry] });
  readonly #rebalanceSeconds = new Histogram({ name: 'partita_rebalance_duration_seconds', help: 'Time taken to (re)join the consumer group.', labelNames: ['consumer_group'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registers: [this.registry] });
  readonly #commits = new Counter({ name: 'partita_commits_total', help: 'Offset commits sent to Kafka, by result.', labelNames: ['consumer_group', 'result'], registers: [this.registry] });
  readonly #threadsLost = new Counter({ name: 'partita_worker_restarts_total', help: 'Worker threads that died (crash, exit, termination after a timeout) and were replaced.', registers: [this.registry] });

  constructor(opts: { state: RuntimeState; events: Instrumentation; groups: string[]; routes: TopicRoute[] }) {
    const state = opts.state;
    this.#state = state;
    const self = this;
    const r = [this.registry];
    new Gauge({
      name: 'partita_consumer_lag_messages',
      help: 'Log end offset minus the committed offset, per assigned partition (refreshed every metrics.intervalMs).',
      labelNames: PARTITION,
      registers: r,
      collect() {
        this.reset();
        for (const g of self.#state.groups()) for (const p of g.partitions) if (p.lag !== undefined) this.set({ consumer_group: g.name, topic: p.topic, partition: p.partition }, p.lag);
      },
    });
    new Gauge({
      name: 'partita_committed_offset',
      help: 'Last offset committed by this process per assigned partition (the next offset to read).',
      labelNames: PARTITION,
      registers: r,
      collect() {
        this.reset();
        for (const g of self.#state.groups()) for (const p of g.partitions) if (p.committed !== undefined) this.set({ consumer_group: g.name, topic: p.topic, partition: p.partition }, p.committed);
      },
    });
    const perGroup = (name: string, help: string, pick: (g: ReturnType<RuntimeState['groups']>[number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['consumer_group'],
        registers: r,
        collect() {
          this.reset();
          for (const g of self.#state.groups()) this.set({ consumer_group: g.name }, pick(g));
        },
      });
    perGroup('partita_assigned_partitions', 'Partitions assigned to this process.', (g) => g.assigned);
    perGroup('partita_paused_partitions', 'Assigned partitions paused (prefetch full, retry backoff, dead-letter write pending).', (g) => g.paused);
    perGroup('partita_in_flight_batches', 'Batches being processed right now.', (g) => g.inFlight);
    perGroup('partita_queued_batches', 'Fetched batches waiting for their partition’s previous batch.', (g) => g.queued);
    const poolGauge = (name: string, help: string, pick: (p: NonNullable<ReturnType<RuntimeState['pool']>>) => number) =>
      new Gauge({
        name,
        help,
        registers: r,
        collect() {
          const p = self.#state.pool();
          if (p) this.set(pick(p));
        },
      });
    poolGauge('partita_pool_threads', 'Configured worker threads.', (p) => p.size);
    poolGauge('partita_pool_ready_threads', 'Worker threads able to run tasks.', (p) => p.ready);
    poolGauge('partita_pool_queue_size', 'Tasks waiting for a worker thread to become ready.', (p) => p.queued);
    for (const g of opts.groups) this.#declareGroup(g);
    for (const r of opts.routes) this.#declareRoute(r);
    this.#subscribe(opts.events);
  }

  /** Creates every per-route series at 0, so rates and dashboards have data before the first event. */
  #declareRoute(route: TopicRoute): void {
    const l = { consumer_group: route.group, topic: route.topic };
    this.#batches.inc(l, 0);
    for (const reason of FAILURE_REASONS) this.#errors.inc({ ...l, reason }, 0);
    this.#retries.inc(l, 0);
    this.#deadLetters.inc(l, 0);
    this.#filtered.inc(l, 0);
  }

  #declareGroup(group: string): void {
    this.#rebalances.inc({ consumer_group: group }, 0);
    this.#commits.inc({ consumer_group: group, result: 'ok' }, 0);
    this.#commits.inc({ consumer_group: group, result: 'failed' }, 0);
    this.#threadsLost.inc(0);
  }

  #subscribe(events: Instrumentation): void {
    const busyThread = (thread: ThreadRef) => ({ thread: thread === 'inline' ? 'main' : String(thread) });
    events.on('batch.processed', (e) => {
      const l = { consumer_group: e.group, topic: e.topic };
      const seconds = e.durationMs / 1000;
      this.#consumed.inc({ ...l, partition: e.partition }, e.messages);
      this.#batches.inc(l);
      this.#batchSeconds.observe(l, seconds);
      if (e.messages > 0) this.#messageSeconds.observe(l, seconds / e.messages, e.messages);
      this.#busy.inc(busyThread(e.thread), seconds);
      if (e.filtered > 0) this.#filtered.inc(l, e.filtered);
    });
    events.on('batch.failed', (e) => {
      this.#errors.inc({ consumer_group: e.group, topic: e.topic, reason: e.reason });
      if (e.durationMs !== undefined && e.thread !== undefined) this.#busy.inc(busyThread(e.thread), e.durationMs / 1000);
    });
    events.on('batch.retried', (e) => this.#retries.inc({ consumer_group: e.group, topic: e.topic }));
    events.on('dead_letter.written', (e) => this.#deadLetters.inc({ consumer_group: e.group, topic: e.topic }));
    events.on('batch.fetched', (e) => {
      const l = { consumer_group: e.group, topic: e.topic };
      this.#fetched.inc({ ...l, partition: e.partition }, e.messages);
      this.#fetchedBytes.inc({ ...l, partition: e.partition }, e.bytes);
      this.#batchSize.observe(l, e.messages);
    });
    events.on('fetch.completed', (e) => this.#fetchSeconds.observe({ consumer_group: e.group }, e.durationMs / 1000));
    events.on('group.joined', (e) => {
      this.#rebalances.inc({ consumer_group: e.group });
      this.#rebalanceSeconds.observe({ consumer_group: e.group }, e.durationMs / 1000);
    });
    events.on('offsets.committed', (e) => this.#commits.inc({ consumer_group: e.group, result: 'ok' }));
    events.on('offsets.commit_failed', (e) => this.#commits.inc({ consumer_group: e.group, result: 'failed' }));
    events.on('worker.lost', () => this.#threadsLost.inc());
  }

  /**
   * The whole exposition: this process's metrics, the main thread's runtime
   * metrics and the latest snapshot of every worker thread, merged by
   * prom-client's aggregator (series differ by their `thread` label, so none
   * are summed together).
   */
  async exposition(): Promise<string> {
    return (await this.#merged()).metrics();
  }

  /** The same, as prom-client's JSON (what `partita swarm` aggregates across its processes). */
  async json(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    return (await this.#merged()).getMetricsAsJSON();
  }

  async #merged(): Promise<Registry> {
    const own = await this.registry.getMetricsAsJSON();
    // process_start_time_seconds is marked 'omit' for cluster aggregation; this process reports it once.
    const main = (await this.#mainThread.getMetricsAsJSON()).map((m) => (m.aggregator === 'omit' ? { ...m, aggregator: 'first' as const } : m));
    const all = [own, main, ...this.#state.threadSnapshots()].map((list) => list.filter((m) => !MISNAMED_GAUGES.has(m.name)));
    return AggregatorRegistry.aggregate(all);
  }
}
