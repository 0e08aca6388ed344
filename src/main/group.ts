/**
 * One consumer group on the main thread: owns its stages and wires them one
 * way. The source (Kafka) reports to the group through its sink; the group
 * filters and hands batches to the scheduler; the scheduler runs them through
 * the executors it is given and marks offsets processed; the group commits
 * what is processed through the source, and at a graceful stop reads the
 * commits back from Kafka. No stage knows another's internals: the scheduler
 * sees the source only as FetchControl (pause/resume/seek), and everything
 * worth telling the outside world goes out as instrumentation events.
 *
 *   source ──fetched──▶ group ──accept──▶ scheduler ──run──▶ executor (pool | inline)
 *      ▲                  │                   │
 *      └──commit──────────┴───── offsets ◀────┘ markProcessed
 */
import type { ConsumerGroupRoute, TopicRoute } from '../config/resolve.ts';
import { FetcherCrashedError } from '../errors.ts';
import { verifyCommitted, type UnverifiedCommit } from '../kafka/committed.ts';
import { LagMonitor } from '../kafka/lag.ts';
import type { TopicPartitionOffset } from '../kafka/types.ts';
import type { Logger } from '../logger.ts';
import { topicPartitionKey } from '../protocol/partition-id.ts';
import { DeadLetterDispatcher } from './dead-letter.ts';
import type { Executor } from './dispatch/executor.ts';
import type { Instrumentation } from '../events.ts';
import { OffsetTracker } from './offsets.ts';
import { Scheduler } from './scheduler/scheduler.ts';
import type { Assignment, BatchSource, FetchedBatch, SourceSink } from './source/batch-source.ts';
import { KafkajsSource } from './source/kafkajs.ts';
import type { GroupGauges } from '../metrics/prometheus.ts';
import type { GroupStatus } from './status.ts';

/** How often a graceful stop tries again a final commit Kafka did not acknowledge. */
const COMMIT_RETRY_MS = 500;

/** What a graceful stop keeps of its budget for leaving the group and reading the commits back. */
const VERIFY_RESERVE_MS = 3000;

/** What a graceful stop found of its final commits. */
export interface FinalCommits {
  /** Behind what was processed in Kafka's own record, or not acknowledged and not readable: delivered again. */
  unverified: UnverifiedCommit[];
  /** Acknowledged by the group coordinator, but Kafka could not be asked to confirm them (a degraded cluster). */
  unconfirmed: UnverifiedCommit[];
}

export interface GroupOptions {
  group: ConsumerGroupRoute;
  /** Active topics of the group that this process consumes. */
  routes: TopicRoute[];
  executorFor: (route: TopicRoute) => Executor;
  events: Instrumentation;
  logger: Logger;
  /** The source crashed and will not recover: the process must go down. */
  onFatal: (err: FetcherCrashedError) => void;
  /** Where batches come from (default: kafkajs). */
  source?: BatchSource;
}

export class ConsumerGroup {
  readonly name: string;
  readonly #opts: GroupOptions;
  readonly #routes: Map<string, TopicRoute>;
  readonly #offsets = new OffsetTracker();
  readonly #source: BatchSource;
  readonly #scheduler: Scheduler;
  readonly #lag: LagMonitor;
  readonly #deadLetters: DeadLetterDispatcher | undefined;
  #joined = false;
  #assignment: Assignment = {};
  #stopped = false;
  #commitTimer: NodeJS.Timeout | undefined;
  #committing: Promise<unknown> = Promise.resolve();

  constructor(opts: GroupOptions) {
    const { group, routes, logger } = opts;
    this.name = group.name;
    this.#opts = opts;
    this.#routes = new Map(routes.map((r) => [r.topic, r]));
    this.#source = opts.source ?? new KafkajsSource(group, routes.map((r) => ({ topic: r.topic, fromBeginning: r.startFrom === 'earliest' })), logger);
    this.#deadLetters = routes.some((r) => r.deadLetter) ? new DeadLetterDispatcher(group.kafka, logger) : undefined;
    this.#scheduler = new Scheduler({
      group,
      fetch: this.#source,
      offsets: this.#offsets,
      logger,
      executorFor: opts.executorFor,
      deadLetters: this.#deadLetters,
      events: opts.events,
    });
    this.#lag = new LagMonitor(group, () => this.#assignment, logger);
  }

  /** True once the group has been joined and partitions assigned (false while rebalancing). */
  get joined(): boolean {
    return this.#joined;
  }

  get assignment(): Assignment {
    return this.#assignment;
  }

  /** Connects, subscribes and starts fetching, committing every commitIntervalMs and reading lag every `lagIntervalMs`. */
  async start(lagIntervalMs: number): Promise<void> {
    await this.#source.start(this.#sink());
    const { commitIntervalMs } = this.#opts.group.settings;
    if (commitIntervalMs > 0) {
      this.#commitTimer = setInterval(() => void this.commit(), commitIntervalMs);
      this.#commitTimer.unref();
    }
    this.#lag.start(lagIntervalMs);
  }

  /** What the source reports, turned into work for the stages. */
  #sink(): SourceSink {
    const { events, logger, group } = this.#opts;
    return {
      position: (topic, partition) => this.#scheduler.fetchPosition(topic, partition),
      fetched: (batch) => this.#fetched(batch),
      fetchRound: (durationMs) => events.emit('fetch.completed', { group: group.name, durationMs }),
      joined: (assignment, durationMs) => {
        const before = new Set(Object.entries(this.#assignment).flatMap(([t, ps]) => ps.map((p) => topicPartitionKey(t, p))));
        this.#joined = true;
        this.#assignment = assignment;
        events.emit('group.joined', { group: group.name, assignment, durationMs });
        for (const [topic, partitions] of Object.entries(assignment)) {
          for (const partition of partitions) if (!before.has(topicPartitionKey(topic, partition))) events.emit('partition.assigned', { group: group.name, topic, partition });
        }
        this.#scheduler.assigned(assignment).catch((err) => logger.error({ err }, 'applying assignment failed'));
      },
      // Which partitions stay is unknown until the join. Start nothing meanwhile (what a busy
      // thread has not started yet is withdrawn), and commit what is processed while this
      // generation may still commit.
      rebalancing: () => {
        this.#joined = false;
        events.emit('group.rebalancing', { group: group.name });
        const settled = this.#scheduler.hold();
        void this.commit();
        // The batches that had started finish within one maxMessages batch: commit them too, which
        // lands while the rebalance waits for the other members in most cases (fewer duplicates).
        void settled.then(() => this.commit());
      },
      crashed: (error, restarting) => {
        this.#joined = false;
        if (restarting) {
          // It rejoins as a new member: the partitions may go elsewhere meanwhile.
          void this.#scheduler.hold();
          logger.warn({ err: error }, 'kafkajs consumer crashed; it restarts itself');
          return;
        }
        if (!this.#stopped) this.#opts.onFatal(new FetcherCrashedError(group.name, error));
      },
    };
  }

  #fetched({ topic, partition, records, startOffset, nextOffset, messages, bytes }: FetchedBatch): void {
    const route = this.#routes.get(topic);
    if (!route) return;
    this.#opts.events.emit('batch.fetched', { group: route.group, topic, partition, messages, bytes });
    this.#scheduler.accept(route, partition, records, startOffset, nextOffset);
  }

  /**
   * Commits processed offsets (one commit at a time) and resolves with what
   * is still not committed. Only offsets Kafka acknowledged count; what was
   * not is reported (`offsets.commit_failed`) and sent again next time.
   */
  commit(): Promise<TopicPartitionOffset[]> {
    const { events, group } = this.#opts;
    const next = this.#committing.then(async () => {
      let acknowledged: TopicPartitionOffset[] = [];
      try {
        const left = await this.#offsets.commit(async (offsets) => (acknowledged = await this.#source.commit(offsets)));
        if (acknowledged.length > 0) events.emit('offsets.committed', { group: group.name, offsets: acknowledged });
        if (left.length > 0) events.emit('offsets.commit_failed', { group: group.name, unacknowledged: left, error: undefined });
        return left;
      } catch (err) {
        const left = this.#offsets.pending();
        events.emit('offsets.commit_failed', { group: group.name, unacknowledged: left, error: err });
        return left;
      }
    });
    this.#committing = next;
    return next;
  }

  /** Stops fetching (every partition, assigned now or later) without leaving the group. */
  pauseAll(): void {
    this.#source.pauseAll();
  }

  /** No more dispatching; waits (until `deadline`) for the batches in flight. */
  drain(deadline: number): Promise<void> {
    return this.#scheduler.drain(deadline);
  }

  /** An offset a shutdown() hook marked: committed with the final commit. */
  markProcessed(topic: string, partition: number, offset: number): void {
    this.#offsets.markProcessed(topic, partition, offset);
  }

  /** The worker thread this partition ran on died. */
  threadLost(topic: string, partition: number): void {
    this.#scheduler.threadLost(topic, partition);
  }

  /**
   * Final commit, then leave the group. A final commit Kafka did not
   * acknowledge (the client is restarting after a broker outage) is tried
   * again until `deadline`. Resolves with the partitions whose commit could
   * not be verified (Kafka's committed offset, read back with the admin API
   * after leaving, is behind what was processed), and those Kafka could not
   * be asked about although the coordinator acknowledged their commit.
   */
  async stop(deadline = Date.now() + 10_000): Promise<FinalCommits> {
    this.#stopped = true;
    clearInterval(this.#commitTimer);
    let left = await this.commit();
    while (left.length > 0 && Date.now() + COMMIT_RETRY_MS < deadline - VERIFY_RESERVE_MS) {
      await new Promise((r) => setTimeout(r, COMMIT_RETRY_MS));
      left = await this.commit();
    }
    const expected = this.#offsets.all();
    await this.#source.stop();
    const found = await verifyCommitted(this.#opts.group, expected, this.#opts.logger, Math.max(1000, deadline - Date.now() - 500));
    await this.#deadLetters?.close();
    await this.#lag.stop();
    // Kafka could not be asked (a degraded cluster): a final commit the coordinator acknowledged is
    // committed, only not confirmed twice; one it did not acknowledge stays unverified.
    const unacknowledged = new Set(left.map((o) => topicPartitionKey(o.topic, o.partition)));
    const acknowledged = (u: UnverifiedCommit) => u.unreadable === true && !unacknowledged.has(topicPartitionKey(u.topic, u.partition));
    return { unverified: found.filter((u) => !acknowledged(u)), unconfirmed: found.filter(acknowledged) };
  }

  /** Best-effort cleanup after a failed start. */
  async teardown(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#commitTimer);
    await this.#source.stop().catch(() => {});
    await this.#deadLetters?.close().catch(() => {});
    await this.#lag.stop();
  }

  /** Partitions with a batch running (for shutdown diagnostics). */
  busy(): string[] {
    return this.#scheduler.busy();
  }

  status(): GroupStatus {
    return {
      name: this.name,
      joined: this.#joined,
      assignment: this.#assignment,
      partitions: this.#scheduler.status().map((p) => {
        const lag = this.#lag.get(p.topic, p.partition);
        // The lag poll reads Kafka's committed offset every lagIntervalMs; this process's own
        // acknowledged commit is fresher, so /status (and the status page) measure from it.
        const fresh = lag && p.committedOffset !== undefined ? Math.max(0, lag.logEndOffset - p.committedOffset) : lag?.lag;
        return { ...p, lag: fresh === undefined || lag === undefined ? fresh : Math.min(fresh, lag.lag), logEndOffset: lag?.logEndOffset };
      }),
    };
  }

  /** Cheap totals for the Prometheus gauges (read on every scrape). */
  gauges(): GroupGauges {
    const partitions = Object.entries(this.#assignment).flatMap(([topic, ps]) =>
      ps.map((partition) => ({ topic, partition, committed: this.#offsets.committed(topic, partition), lag: this.#lag.get(topic, partition)?.lag })),
    );
    return { name: this.name, assigned: partitions.length, ...this.#scheduler.summary(), partitions };
  }
}
