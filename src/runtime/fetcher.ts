/**
 * The fetcher of one consumer group: owns its kafkajs consumer on the main
 * thread. eachBatch turns a kafkajs batch into a RawBatch (dropping offsets
 * already accepted and messages the route's filter rejects), hands it to the
 * scheduler and returns at once, so fetching never waits for processing.
 *
 * kafkajs runs with autoCommit off and auto-resolve off: `resolveOffset` only
 * moves the fetch position; commits are explicit, of processed offsets only.
 */
import type { Consumer as KafkajsConsumer, EachBatchPayload } from 'kafkajs';
import { createKafkaClient } from '../kafka/client.ts';
import type { ConsumerGroupRoute, TopicRoute } from '../app/config.ts';
import { brokerConnectError, FetcherCrashedError, SubscribeError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { resolveDeserializer } from '../messages/deserializers.ts';
import { Message } from '../messages/messages.ts';
import { appendMessage, emptyRawBatch } from '../messages/raw-batch.ts';
import type { OffsetTracker, TopicPartitionOffset } from './offset-tracker.ts';
import { verifyCommitted, type UnverifiedCommit } from './commit-check.ts';
import type { FetchControl, Scheduler } from './scheduler.ts';
import type { ServerMetrics } from '../metrics/server-metrics.ts';

/** How often a graceful stop tries again a final commit Kafka did not acknowledge. */
const COMMIT_RETRY_MS = 500;
/** What a graceful stop keeps of its budget for leaving the group and reading the commits back. */
const VERIFY_RESERVE_MS = 3000;

export interface FetcherDeps {
  group: ConsumerGroupRoute;
  /** Active topics of the group that this process consumes. */
  routes: TopicRoute[];
  scheduler: (fetch: FetchControl) => Scheduler;
  offsets: OffsetTracker;
  logger: Logger;
  /** The consumer crashed and kafkajs will not restart it: the process must go down. */
  onFatal: (err: FetcherCrashedError) => void;
  /** Where the fetcher reports what it sees. */
  metrics?: ServerMetrics;
}

export class GroupFetcher {
  readonly #deps: FetcherDeps;
  readonly #routes: Map<string, TopicRoute>;
  readonly #consumer: KafkajsConsumer;
  readonly scheduler: Scheduler;
  #commitTimer: NodeJS.Timeout | null = null;
  #committing: Promise<void> = Promise.resolve();
  #joined = false;
  #assignment: Record<string, number[]> = {};
  #stopped = false;
  /** Offsets Kafka acknowledged during the commit under way (kafkajs's COMMIT_OFFSETS events). */
  #acknowledged: TopicPartitionOffset[] = [];
  readonly #pendingSeeks = new Map<string, { topic: string; partition: number; offset: number }>();

  constructor(deps: FetcherDeps) {
    this.#deps = deps;
    this.#routes = new Map(deps.routes.map((r) => [r.topic, r]));
    const { settings } = deps.group;
    this.#consumer = createKafkaClient(deps.group.kafka, deps.logger).consumer({
      groupId: deps.group.name,
      sessionTimeout: settings.sessionTimeoutMs,
      heartbeatInterval: settings.heartbeatIntervalMs,
      rebalanceTimeout: settings.rebalanceTimeoutMs,
      maxBytesPerPartition: settings.maxBytesPerPartition,
      maxBytes: settings.maxBytes,
      maxWaitTimeInMs: settings.maxWaitTimeMs,
      retry: { retries: deps.group.kafka.connectRetries },
    });
    const c = this.#consumer;
    // While kafkajs restarts its consumer (after a crash it recovers from, e.g. a broker
    // restart) pause/resume/seek throw "not initialized". A lost pause or resume is harmless
    // (the new consumer starts unpaused; assigned() re-applies the pauses still needed); a
    // lost seek is kept and applied when the group is joined again.
    const guarded = (what: string, f: () => void, onFail?: () => void) => {
      try {
        f();
      } catch (err) {
        onFail?.();
        deps.logger.debug({ err, what }, 'kafkajs consumer not running; deferred');
      }
    };
    this.scheduler = deps.scheduler({
      pause: (topic, partition) => guarded('pause', () => c.pause([{ topic, partitions: [partition] }])),
      resume: (topic, partition) => guarded('resume', () => c.resume([{ topic, partitions: [partition] }])),
      seek: (topic, partition, offset) =>
        guarded(
          'seek',
          () => c.seek({ topic, partition, offset: String(offset) }),
          () => this.#pendingSeeks.set(`${topic}\u0000${partition}`, { topic, partition, offset }),
        ),
    });
  }

  get name(): string {
    return this.#deps.group.name;
  }

  /** True once the group has been joined and partitions assigned. */
  get joined(): boolean {
    return this.#joined;
  }

  get assignment(): Record<string, number[]> {
    return this.#assignment;
  }

  async start(): Promise<void> {
    const c = this.#consumer;
    const { logger, group } = this.#deps;
    c.on(c.events.FETCH, (e) => this.#deps.metrics?.fetchRound(group.name, e.payload.duration));
    c.on(c.events.GROUP_JOIN, (e) => {
      this.#deps.metrics?.rebalanced(group.name, e.payload.duration);
      this.#joined = true;
      this.#assignment = e.payload.memberAssignment;
      logger.info({ assignment: e.payload.memberAssignment, durationMs: e.payload.duration }, 'joined consumer group');
      this.scheduler.assigned(e.payload.memberAssignment).catch((err) => logger.error({ err }, 'applying assignment failed'));
      for (const [k, seek] of this.#pendingSeeks) {
        this.#pendingSeeks.delete(k);
        if (e.payload.memberAssignment[seek.topic]?.includes(seek.partition)) {
          try {
            c.seek({ topic: seek.topic, partition: seek.partition, offset: String(seek.offset) });
          } catch (err) {
            logger.warn({ err, ...seek }, 'deferred seek failed');
          }
        }
      }
    });
    // A rebalance is starting: which partitions stay is unknown until the join. Start nothing
    // meanwhile (what a busy thread has not started yet is withdrawn), and commit what is
    // processed while this generation may still commit.
    c.on(c.events.REBALANCING, () => {
      this.#joined = false;
      logger.info('group is rebalancing');
      const settled = this.scheduler.hold();
      void this.commit();
      // The batches that had started finish within one maxMessages batch: commit them too, which
      // lands while the rebalance waits for the other members in most cases (fewer duplicates).
      void settled.then(() => this.commit());
    });
    // kafkajs reports commits only after the coordinator acknowledged them: the truth about commits.
    c.on(c.events.COMMIT_OFFSETS, (e) => {
      for (const t of e.payload.topics) for (const p of t.partitions) this.#acknowledged.push({ topic: t.topic, partition: p.partition, offset: Number(String(p.offset)) });
    });
    c.on(c.events.CRASH, (e) => {
      const { error, restart } = e.payload;
      this.#joined = false;
      if (restart) {
        // It rejoins as a new member: the partitions may go elsewhere meanwhile.
        void this.scheduler.hold();
        logger.warn({ err: error }, 'kafkajs consumer crashed; it restarts itself');
        return;
      }
      if (!this.#stopped) this.#deps.onFatal(new FetcherCrashedError(group.name, error));
    });

    try {
      await c.connect();
    } catch (err) {
      await c.disconnect().catch(() => {});
      throw brokerConnectError(group.kafka.brokers, err);
    }
    for (const r of this.#deps.routes) {
      try {
        await c.subscribe({ topic: r.topic, fromBeginning: r.startFrom === 'earliest' });
      } catch (err) {
        await c.disconnect().catch(() => {});
        throw new SubscribeError(group.name, r.topic, err);
      }
    }
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.#onBatch(payload),
    });
    if (group.settings.commitIntervalMs > 0) {
      this.#commitTimer = setInterval(() => void this.commit(), group.settings.commitIntervalMs);
      this.#commitTimer.unref();
    }
  }

  async #onBatch({ batch, resolveOffset, isStale }: EachBatchPayload): Promise<void> {
    if (isStale() || batch.messages.length === 0) return;
    const route = this.#routes.get(batch.topic);
    if (!route) return;
    const partition = batch.partition;
    const position = this.scheduler.fetchPosition(batch.topic, partition);
    const lastOffset = batch.lastOffset();
    const nextOffset = Number(lastOffset) + 1;
    if (position !== null && nextOffset <= position) {
      resolveOffset(lastOffset); // all of it was accepted before a rejoin reset kafkajs's position
      return;
    }
    const raw = emptyRawBatch(batch.topic, partition, Number(batch.highWatermark));
    const filter = route.filter;
    const deserialize = filter ? resolveDeserializer(route.deserializer) : undefined;
    let bytes = 0;
    let filtered = 0;
    for (const m of batch.messages) {
      if (position !== null && Number(m.offset) < position) continue;
      bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
      appendMessage(raw, m);
      if (filter) {
        const i = raw.offsets.length - 1;
        if (!filter(new Message(raw, i, deserialize!))) {
          for (const col of [raw.offsets, raw.timestamps, raw.keys, raw.values, raw.headers]) col.pop();
          filtered += 1;
        }
      }
    }
    this.#deps.metrics?.fetched(route, partition, raw.offsets.length, bytes, filtered);
    this.scheduler.accept(route, raw, nextOffset);
    resolveOffset(lastOffset);
  }

  /**
   * Commits processed offsets (serialized: one commit at a time) and resolves
   * with what is still not committed. Only offsets Kafka acknowledged count:
   * kafkajs's commitOffsets returns without committing, and without an error,
   * while its consumer is not running (after a crash, before the restart).
   * What was not acknowledged is logged and sent again next time.
   */
  commit(): Promise<TopicPartitionOffset[]> {
    const next = this.#committing.then(async () => {
      const { metrics, group, logger } = this.#deps;
      try {
        const left = await this.#deps.offsets.commit(async (offsets) => {
          this.#acknowledged = [];
          await this.#consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })));
          return this.#acknowledged;
        });
        if (left.length > 0) {
          metrics?.committed(group.name, false);
          logger.warn({ partitions: left.map((o) => `${o.topic}/${o.partition}@${o.offset}`) }, 'offset commit not acknowledged by Kafka (the consumer is rejoining or restarting); will retry');
        } else metrics?.committed(group.name, true);
        return left;
      } catch (err) {
        metrics?.committed(group.name, false);
        logger.warn({ err }, 'offset commit failed; will retry');
        return this.#deps.offsets.pending();
      }
    });
    this.#committing = next.then(() => {});
    return next;
  }

  /** Stops fetching new batches (pauses every assigned partition) without leaving the group. */
  pauseAll(): void {
    try {
      const topics = Object.entries(this.#assignment).map(([topic, partitions]) => ({ topic, partitions }));
      if (topics.length > 0) this.#consumer.pause(topics);
      // Also the subscribed topics as a whole, for partitions assigned after this point.
      this.#consumer.pause(this.#deps.routes.map((r) => ({ topic: r.topic })));
    } catch (err) {
      // kafkajs is between a crash and its restart: nothing is being fetched right now anyway.
      this.#deps.logger.debug({ err }, 'pause on stop skipped');
    }
  }

  /**
   * Final commit, then leave the group and disconnect. A final commit Kafka
   * did not acknowledge (the consumer is restarting after a broker outage) is
   * tried again until `deadline`. Resolves with the partitions whose commit
   * could not be verified: Kafka's committed offset, read back with the admin
   * API after leaving, is behind what was processed.
   */
  async stop(deadline = Date.now() + 10_000): Promise<UnverifiedCommit[]> {
    this.#stopped = true;
    if (this.#commitTimer) clearInterval(this.#commitTimer);
    let left = await this.commit();
    while (left.length > 0 && Date.now() + COMMIT_RETRY_MS < deadline - VERIFY_RESERVE_MS) {
      await new Promise((r) => setTimeout(r, COMMIT_RETRY_MS));
      left = await this.commit();
    }
    const expected = this.#deps.offsets.all();
    await this.#consumer.disconnect();
    return verifyCommitted(this.#deps.group, expected, this.#deps.logger, Math.max(1000, deadline - Date.now() - 500));
  }
}
