/**
 * The BatchSource on kafkajs: the only kafkajs consumer code. Its fetches run
 * inside the raw-fetch hook (src/kafka/raw-fetch.ts), so kafkajs decodes no
 * records: eachBatch gets one placeholder per record batch and the
 * partition's record set, which it hands to the sink as it is (O(record
 * batches) here; worker threads decode) and returns at once, so fetching
 * never waits for processing. A fetch kafkajs decoded itself (a legacy
 * message format) is handed over as decoded columns instead.
 *
 * kafkajs runs with autoCommit off and auto-resolve off: `resolveOffset` only
 * moves the fetch position; commits are explicit, of processed offsets only,
 * and count only once kafkajs reports them acknowledged (COMMIT_OFFSETS).
 */
import type { Consumer as KafkajsConsumer, EachBatchPayload } from 'kafkajs';
import type { ConsumerGroupRoute } from '../../config/resolve.ts';
import { brokerConnectError, SubscribeError } from '../../errors.ts';
import { createKafkaClient } from '../../kafka/client.ts';
import type { TopicPartitionOffset } from '../../kafka/types.ts';
import type { Logger } from '../../logger.ts';
import { releaseRecordSlot } from '../../kafka/record-slots.ts';
import { installRawFetch, rawFetches, rawRecordsOf, type BatchPlaceholder } from '../../kafka/raw-fetch.ts';
import { fetchWakes, installFetchWake, ResumeSignal } from '../../kafka/fetch-wake.ts';
import { appendMessage, emptyRawBatch, type KafkajsMessageLike } from '../../protocol/batch-codec.ts';
import type { FetchedRecords } from '../../protocol/records.ts';
import { topicPartitionKey } from '../../protocol/partition-id.ts';
import type { BatchSource, SourceSink } from './batch-source.ts';

/**
 * kafkajs gives up for good on some failures that only mean the cluster is
 * not there yet: while a broker restarts, the group coordinator cannot be
 * found (KafkaJSGroupCoordinatorNotFound, non-retriable to kafkajs) once its
 * retry budget is spent. A consumer that gave up for one of these is started
 * again, with a backoff, a bounded number of times in a row (a join resets
 * the count); past that it is a crash (FETCHER_CRASHED).
 */
const TRANSIENT_CRASHES = new Set(['KafkaJSGroupCoordinatorNotFound', 'KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSBrokerNotFound', 'KafkaJSRequestTimeoutError', 'KafkaJSNumberOfRetriesExceeded']);
const MAX_SELF_RESTARTS = 8;
const SELF_RESTART_MAX_MS = 15_000;

export function transientCrash(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (TRANSIENT_CRASHES.has((e as { name?: string }).name ?? '')) return true;
  }
  return false;
}

export class KafkajsSource implements BatchSource {
  readonly #group: ConsumerGroupRoute;
  /** The group's active topics this process consumes, with where a group without commits starts. */
  readonly #topics: Array<{ topic: string; fromBeginning: boolean }>;
  readonly #logger: Logger;
  readonly #consumer: KafkajsConsumer;
  #sink: SourceSink | undefined;
  /** Offsets Kafka acknowledged during the commit under way (kafkajs's COMMIT_OFFSETS events). */
  #acknowledged: TopicPartitionOffset[] = [];
  /** Seeks asked for while kafkajs restarted its consumer: applied at the next join. */
  readonly #pendingSeeks = new Map<string, { topic: string; partition: number; offset: number }>();
  #assignment: Record<string, number[]> = {};
  /** Restarts after kafkajs gave up, since the last join (see TRANSIENT_CRASHES). */
  #selfRestarts = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #stopping = false;
  #warnedDecoded = false;
  /** Wakes kafkajs's fetch loop of a broker whose partitions were all paused (see fetch-wake.ts). */
  readonly #resumes = new ResumeSignal();

  constructor(group: ConsumerGroupRoute, topics: Array<{ topic: string; fromBeginning: boolean }>, logger: Logger) {
    this.#group = group;
    this.#topics = topics;
    this.#logger = logger;
    installRawFetch();
    installFetchWake();
    const { settings } = group;
    this.#consumer = createKafkaClient(group.kafka, logger).consumer({
      groupId: group.name,
      sessionTimeout: settings.sessionTimeoutMs,
      heartbeatInterval: settings.heartbeatIntervalMs,
      rebalanceTimeout: settings.rebalanceTimeoutMs,
      maxBytesPerPartition: settings.maxBytesPerPartition,
      maxBytes: settings.maxBytes,
      maxWaitTimeInMs: settings.maxWaitTimeMs,
      // kafkajs asks for topic metadata with auto-creation on by default: a route naming a missing
      // topic (a typo) then failed with SUBSCRIBE_FAILED and yet left the topic created, with the
      // broker's default partitions, for the next start to consume. A consumer creates nothing.
      allowAutoTopicCreation: false,
      retry: { retries: group.kafka.connectRetries },
    });
  }

  /**
   * While kafkajs restarts its consumer (after a crash it recovers from, e.g. a
   * broker restart) pause/resume/seek throw "not initialized". A lost pause or
   * resume is harmless (the new consumer starts unpaused; the scheduler
   * re-applies the pauses still needed at the join); a lost seek is kept and
   * applied when the group is joined again.
   */
  #guarded(what: string, f: () => void, onFail?: () => void): void {
    try {
      f();
    } catch (err) {
      onFail?.();
      this.#logger.debug({ err, what }, 'kafkajs consumer not running; deferred');
    }
  }

  pause(topic: string, partition: number, briefly = false): void {
    this.#guarded('pause', () => this.#consumer.pause([{ topic, partitions: [partition] }]));
    this.#resumes.paused(topic, partition, briefly);
  }

  resume(topic: string, partition: number): void {
    this.#guarded('resume', () => this.#consumer.resume([{ topic, partitions: [partition] }]));
    this.#resumes.resumed(topic, partition);
  }

  seek(topic: string, partition: number, offset: number): void {
    this.#guarded(
      'seek',
      () => this.#consumer.seek({ topic, partition, offset: String(offset) }),
      () => this.#pendingSeeks.set(topicPartitionKey(topic, partition), { topic, partition, offset }),
    );
  }

  async start(sink: SourceSink): Promise<void> {
    this.#sink = sink;
    const c = this.#consumer;
    c.on(c.events.FETCH, (e) => sink.fetchRound(e.payload.duration));
    c.on(c.events.GROUP_JOIN, (e) => {
      const assignment = e.payload.memberAssignment;
      this.#assignment = assignment;
      this.#selfRestarts = 0;
      sink.joined(assignment, e.payload.duration);
      for (const [k, seek] of this.#pendingSeeks) {
        this.#pendingSeeks.delete(k);
        if (!assignment[seek.topic]?.includes(seek.partition)) continue;
        try {
          c.seek({ topic: seek.topic, partition: seek.partition, offset: String(seek.offset) });
        } catch (err) {
          this.#logger.warn({ err, ...seek }, 'deferred seek failed');
        }
      }
    });
    c.on(c.events.REBALANCING, () => sink.rebalancing());
    // kafkajs reports commits only after the coordinator acknowledged them: the truth about commits.
    c.on(c.events.COMMIT_OFFSETS, (e) => {
      for (const t of e.payload.topics) for (const p of t.partitions) this.#acknowledged.push({ topic: t.topic, partition: p.partition, offset: Number(String(p.offset)) });
    });
    c.on(c.events.CRASH, (e) => {
      const { error, restart } = e.payload;
      if (restart || this.#stopping || !transientCrash(error) || this.#selfRestarts >= MAX_SELF_RESTARTS) return sink.crashed(error, restart);
      sink.crashed(error, true);
      this.#restartLater(error);
    });

    try {
      await c.connect();
    } catch (err) {
      await c.disconnect().catch(() => {});
      throw brokerConnectError(this.#group.kafka.brokers, err);
    }
    for (const { topic, fromBeginning } of this.#topics) {
      try {
        await c.subscribe({ topic, fromBeginning });
      } catch (err) {
        await c.disconnect().catch(() => {});
        throw new SubscribeError(this.#group.name, topic, err);
      }
    }
    await this.#run();
  }

  /** Runs kafkajs's fetch loop inside the raw-fetch and fetch-wake scopes: everything it starts inherits them. */
  #run(): Promise<void> {
    return fetchWakes.run(this.#resumes, () =>
      rawFetches.run(true, () => this.#consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (payload) => this.#onBatch(payload) })),
    );
  }

  /** Starts the consumer again after kafkajs gave up on a transient failure (it disconnected itself). */
  #restartLater(cause: unknown): void {
    this.#selfRestarts += 1;
    const delay = Math.min(SELF_RESTART_MAX_MS, 1000 * 2 ** (this.#selfRestarts - 1));
    this.#logger.warn({ err: cause, attempt: this.#selfRestarts, of: MAX_SELF_RESTARTS, retryInMs: delay }, 'kafkajs consumer gave up (no broker or group coordinator yet); starting it again');
    this.#restartTimer = setTimeout(() => {
      if (this.#stopping) return;
      this.#consumer
        .connect()
        .then(() => this.#run())
        .catch(async (err: unknown) => {
          // A start that failed half-way leaves kafkajs thinking it runs: disconnect resets it.
          await this.#consumer.disconnect().catch(() => {});
          if (this.#stopping) return;
          if (this.#selfRestarts < MAX_SELF_RESTARTS) this.#restartLater(err);
          else this.#sink!.crashed(err, false);
        });
    }, delay);
  }

  async #onBatch({ batch, resolveOffset, isStale }: EachBatchPayload): Promise<void> {
    const sink = this.#sink!;
    const set = rawRecordsOf((batch as unknown as { rawMessages: unknown[] }).rawMessages);
    if (isStale() || batch.messages.length === 0) return void (set && releaseRecordSlot(set.slot));
    const { topic, partition } = batch;
    const position = sink.position(topic, partition);
    const lastOffset = batch.lastOffset();
    const nextOffset = Number(lastOffset) + 1;
    if (position !== null && nextOffset <= position) {
      if (set) releaseRecordSlot(set.slot);
      resolveOffset(lastOffset); // all of it was accepted before a rejoin reset kafkajs's position
      return;
    }
    const fetchedOffset = Number((batch as unknown as { fetchedOffset: string }).fetchedOffset);
    const startOffset = Math.max(fetchedOffset, position ?? fetchedOffset);
    const highWatermark = Number(batch.highWatermark);
    let records: FetchedRecords;
    let messages = 0;
    let bytes = 0;
    if (set) {
      records = { kind: 'raw', topic, partition, highWatermark, bytes: set.bytes, aborted: set.abortedTransactions, slot: set.slot };
      for (const m of batch.messages as unknown as BatchPlaceholder[]) messages += m.count;
      bytes = set.bytes.length;
    } else {
      if (!this.#warnedDecoded) {
        this.#warnedDecoded = true;
        this.#logger.warn({ topic, partition }, 'a fetch was decoded by kafkajs on the main thread (legacy message format, magic 0/1): such records reach the workers decoded, which is slower');
      }
      const raw = emptyRawBatch(topic, partition, highWatermark);
      for (const m of batch.messages as KafkajsMessageLike[]) {
        if (Number(m.offset) < startOffset) continue;
        bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
        appendMessage(raw, m);
      }
      records = { kind: 'decoded', raw };
      messages = raw.offsets.length;
    }
    sink.fetched({ topic, partition, records, startOffset, nextOffset, messages, bytes });
    resolveOffset(lastOffset);
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<TopicPartitionOffset[]> {
    this.#acknowledged = [];
    // Resolves without committing, and without an error, while kafkajs's consumer is not running
    // (after a crash, before the restart): only what COMMIT_OFFSETS reported counts.
    await this.#consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })));
    return this.#acknowledged;
  }

  pauseAll(): void {
    this.#guarded('pause on stop', () => {
      const assigned = Object.entries(this.#assignment).map(([topic, partitions]) => ({ topic, partitions }));
      if (assigned.length > 0) this.#consumer.pause(assigned);
      // Also the subscribed topics as a whole, for partitions assigned after this point.
      this.#consumer.pause(this.#topics.map(({ topic }) => ({ topic })));
    });
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    await this.#consumer.disconnect();
  }
}
