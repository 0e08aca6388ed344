/**
 * The boot file's config as users write it: the documented input types and
 * the zod schema that validates them (every problem reported at once, with
 * its path). Defaults live in defaults.ts; resolve.ts turns a valid config
 * into the form the runtime reads.
 */
import { z } from 'zod';
import { isConsumerClass, type ConsumerClass } from '../consumer/consumer.ts';
import { isResponderClass, type ResponderClass } from '../consumer/responder.ts';
import type { KafkaConfig, KafkaTopicDeclaration } from '../kafka/types.ts';
import type { Deserializer } from '../messages/deserializers.ts';
import type { Message } from '../messages/messages.ts';
import type { Serializer } from '../producer/serializers.ts';

/** Settings of a consumer group; `defaults` sets them for all groups, a group may override. */
export interface GroupSettings {
  /** Batches queued per partition beyond the one being processed; when full the partition is paused. @default 2 */
  prefetch?: number;
  /**
   * Most messages in one batch handed to consume(); a larger fetch is split. Bounds the work a
   * partition has in flight, hence what a rebalance re-delivers to the partition's next owner.
   * @default 1000
   */
  maxMessages?: number;
  /** How often processed offsets are committed; also committed on revoke and shutdown. @default 1000 */
  commitIntervalMs?: number;
  /** @default 30000 */
  sessionTimeoutMs?: number;
  /** @default 3000 */
  heartbeatIntervalMs?: number;
  /** @default 60000 */
  rebalanceTimeoutMs?: number;
  /** Max bytes fetched per partition per request (bounds one batch). @default 1048576 */
  maxBytesPerPartition?: number;
  /** Max bytes per fetch response. @default 10485760 */
  maxBytes?: number;
  /** Broker long-poll wait when no data is available. @default 500 */
  maxWaitTimeMs?: number;
  /** Backoff before retrying a failed batch: initialMs doubling up to maxMs. @default { initialMs: 1000, maxMs: 30000 } */
  retryBackoff?: { initialMs?: number; maxMs?: number };
  /** After a topic's timeoutMs fires, how long consume() gets to settle before its worker thread is replaced. @default 5000 */
  timeoutGraceMs?: number;
  /** Check the CRC-32C of every record batch read, as the Java client's `check.crcs` (corruption in transit or on disk fails the batch with BATCH_CORRUPT and it is fetched again). @default true */
  checkCrcs?: boolean;
}

export interface DeadLetterOptions {
  /** Topic the poison message is produced to (with its origin in headers). */
  topic: string;
  /** Retries of a failing message before it is moved aside; 0 moves it at the first failure. @default 3 */
  maxRetries?: number;
  /** Retry malformed payloads (PAYLOAD_INVALID) like other errors; by default they go straight to the dead-letter topic, since they never heal. @default false */
  retryMalformed?: boolean;
}

export interface TopicOptions<P = any> {
  /** The class handling this topic: `class X extends Consumer { consume(messages) {} }`. */
  consumer: ConsumerClass<P>;
  /** @default 'json' */
  deserializer?: Deserializer;
  /** `pool`: worker threads (partition pinned to one thread). `inline`: the main thread. @default 'pool' */
  backend?: 'pool' | 'inline';
  /** Where a group without a committed offset starts. @default 'earliest' */
  startFrom?: 'earliest' | 'latest';
  /** Inactive topics are declared (routes, flow) but not consumed. @default true */
  active?: boolean;
  /** Runs for each fetched message where the batch runs (its worker thread, or the main thread inline), before consume(); false drops it (its offset still counts as processed). */
  filter?: (message: Message<P>) => boolean;
  /** Commit only what consume() marks with markAsConsumed(). @default false */
  manualOffsets?: boolean;
  /** Call the consumer's eofed() when a partition reaches the end of its log with nothing left to process. @default false */
  eofed?: boolean;
  /**
   * Key-level parallelism inside a partition: each batch is split into up to `max`
   * virtual partitions by key (or by what `by` returns); messages with the same key keep
   * their order, virtual partitions run concurrently, each on its own persistent
   * consumer instance. `threads`: how many worker threads one partition's virtual
   * partitions are spread over (virtual partition n runs on thread n mod threads), so
   * CPU-bound work uses more than one core; 1 keeps them all on the partition's thread
   * (enough for async I/O). @default every thread of the pool (at most `max`)
   * `distribution`: `'consistent'` (default) sends a key to virtual partition
   * hash(key) mod max, always the same one; `'balanced'` spreads each batch's keys so
   * the virtual partitions get about as many messages each (a key stays in one virtual
   * partition within a batch, not necessarily the same one across batches).
   */
  parallel?: { by?: 'key' | ((message: Message<P>) => string); max: number; threads?: number; distribution?: 'consistent' | 'balanced' };
  /** Overrides the group's retry backoff for this topic. */
  retryBackoff?: { initialMs?: number; maxMs?: number };
  /** Overrides the group's maxMessages (most messages per consume() call) for this topic. */
  maxMessages?: number;
  /** A batch running longer fails with JOB_TIMEOUT (retried / dead-lettered); the consumer's `signal` aborts. @default none */
  timeoutMs?: number;
  /** Move messages that keep failing to this topic instead of retrying forever. */
  deadLetter?: DeadLetterOptions;
  /** Where respondWith() sends: a Responder subclass declaring its outgoing topics. */
  responder?: ResponderClass;
  /** The topic as `partita topics plan|create` should make it. Undeclared topics are not managed. */
  kafkaTopic?: KafkaTopicDeclaration;
}


/** `app.producer` and producing from consumers. */
export interface ProducerConfig {
  /** Idempotent producer (no duplicates from the producer's own retries). @default true */
  idempotent?: boolean;
  /** How long produceAsync buffers before sending. @default 5 */
  lingerMs?: number;
  /** produceAsync sends as soon as this many messages are buffered. @default 1000 */
  batchSize?: number;
  /** Serializer per outgoing topic (default JSON). */
  serializers?: Record<string, Serializer>;
}

export interface ConsumerGroupConfig extends GroupSettings {
  /** Overrides of the app's kafka settings (a group may read another cluster). */
  kafka?: Partial<KafkaConfig>;
  topics: Record<string, TopicOptions>;
}

/** The HTTP endpoint for Prometheus and health probes (`partita server` starts it). */
export interface HttpConfig {
  /** @default true */
  enabled?: boolean;
  /** Address to bind; keep the default unless a scraper on another host needs it. @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port (logged at start). Env PARTITA_HTTP_PORT and --http-port override it. @default 9394 */
  port?: number;
  /** /health fails when the main event loop lagged more than this in the last 10 s. @default 5000 */
  maxEventLoopLagMs?: number;
  /** /health fails when no worker thread has been able to run tasks for this long. @default 10000 */
  poolDeadAfterMs?: number;
}

export interface MetricsConfig {
  /** How often worker threads send their runtime metrics and consumer lag is refreshed from Kafka. @default 5000 */
  intervalMs?: number;
}

/**
 * V8 heap limits of each worker thread (Node's Worker `resourceLimits`). A
 * thread that runs out of its old generation dies with
 * ERR_WORKER_OUT_OF_MEMORY: it is replaced and its batch retried, the
 * process lives on.
 */
export interface ThreadMemoryConfig {
  /** Young generation (new objects) per thread, in MiB: smaller keeps RSS down, larger means fewer scavenges. @default 16 */
  youngGenerationMb?: number;
  /** Old generation per thread, in MiB (V8's own limit when unset). */
  oldGenerationMb?: number;
}

export interface AppConfig {
  kafka: KafkaConfig;
  producer?: ProducerConfig;
  /** Metrics/health HTTP endpoint. */
  http?: HttpConfig;
  metrics?: MetricsConfig;
  /** Worker threads in the pool. @default os.availableParallelism() */
  concurrency?: number;
  /** Heap limits of each worker thread. */
  threadMemory?: ThreadMemoryConfig;
  /** Graceful shutdown budget. @default 30000 */
  shutdownTimeoutMs?: number;
  /** Group settings applied to every group (a group's own settings win). */
  defaults?: GroupSettings;
  /** Name of the group that `topics` (declared outside any group) belong to. @default kafka.clientId or 'partita' */
  defaultConsumerGroup?: string;
  /** Topics of the default consumer group. */
  topics?: Record<string, TopicOptions>;
  /** Consumer groups by name (the Kafka group id), each with its topics. */
  routes?: Record<string, ConsumerGroupConfig>;
}

const positiveInt = z.number().int().positive();
export const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const fn = (what: string) => z.custom<(...args: any[]) => any>((v) => typeof v === 'function', { message: `must be a function (${what})` });

const kafkaShape = {
  brokers: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port')).min(1, 'must list at least one broker'),
  clientId: z.string().min(1).optional(),
  ssl: z.union([z.boolean(), z.record(z.string(), z.unknown())]).optional(),
  sasl: z.object({ mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']), username: z.string(), password: z.string() }).strict().optional(),
  connectionTimeoutMs: positiveInt.optional(),
  requestTimeoutMs: positiveInt.optional(),
  connectRetries: z.number().int().min(0).max(100).optional(),
};

const groupSettingsShape = {
  prefetch: z.number().int().min(1).max(1000).optional(),
  maxMessages: z.number().int().min(1).max(1_000_000).optional(),
  commitIntervalMs: z.number().int().min(0).optional(),
  sessionTimeoutMs: positiveInt.optional(),
  heartbeatIntervalMs: positiveInt.optional(),
  rebalanceTimeoutMs: positiveInt.optional(),
  maxBytesPerPartition: positiveInt.optional(),
  maxBytes: positiveInt.optional(),
  maxWaitTimeMs: z.number().int().min(0).optional(),
  retryBackoff: z.object({ initialMs: positiveInt.optional(), maxMs: positiveInt.optional() }).strict().optional(),
  timeoutGraceMs: positiveInt.optional(),
  checkCrcs: z.boolean().optional(),
};

const topicSchema = z
  .object({
    consumer: z.custom<ConsumerClass>(isConsumerClass, { message: 'must be a Consumer subclass' }),
    deserializer: z.union([z.enum(['json', 'string', 'raw']), fn('raw, context) => payload')]).optional(),
    backend: z.enum(['pool', 'inline']).optional(),
    startFrom: z.enum(['earliest', 'latest']).optional(),
    active: z.boolean().optional(),
    filter: fn('message) => boolean').optional(),
    manualOffsets: z.boolean().optional(),
    eofed: z.boolean().optional(),
    parallel: z.object({ by: z.union([z.literal('key'), fn('message) => string')]).optional(), max: z.number().int().min(1).max(1024), threads: z.number().int().min(1).max(256).optional(), distribution: z.enum(['consistent', 'balanced']).optional() }).strict().optional(),
    retryBackoff: z.object({ initialMs: positiveInt.optional(), maxMs: positiveInt.optional() }).strict().optional(),
    maxMessages: z.number().int().min(1).max(1_000_000).optional(),
    timeoutMs: positiveInt.optional(),
    responder: z.custom<ResponderClass>(isResponderClass, { message: 'must be a Responder subclass with static topics' }).optional(),
    kafkaTopic: z
      .object({
        partitions: z.number().int().min(1).max(100_000),
        replicationFactor: z.number().int().min(1).max(32).optional(),
        config: z.record(z.string(), z.string()).optional(),
      })
      .strict()
      .optional(),
    deadLetter: z
      .object({
        topic: z.string().regex(TOPIC_NAME, 'must be a Kafka topic name (letters, digits, . _ -; at most 249)'),
        maxRetries: z.number().int().min(0).max(1000).optional(),
        retryMalformed: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const groupSchema = z
  .object({
    ...groupSettingsShape,
    kafka: z.object(kafkaShape).partial().strict().optional(),
    topics: z.record(z.string(), topicSchema),
  })
  .strict();

export const appSchema = z
  .object({
    kafka: z.object(kafkaShape).strict(),
    http: z
      .object({
        enabled: z.boolean().optional(),
        host: z.string().min(1).optional(),
        port: z.number().int().min(0).max(65535).optional(),
        maxEventLoopLagMs: positiveInt.optional(),
        poolDeadAfterMs: positiveInt.optional(),
      })
      .strict()
      .optional(),
    producer: z
      .object({
        idempotent: z.boolean().optional(),
        lingerMs: z.number().int().min(0).max(60_000).optional(),
        batchSize: positiveInt.optional(),
        serializers: z.record(z.string(), z.union([z.enum(['json', 'string', 'raw']), fn('value, { topic }) => Buffer | string | null')])).optional(),
      })
      .strict()
      .optional(),
    metrics: z.object({ intervalMs: z.number().int().min(100).optional() }).strict().optional(),
    concurrency: z.number().int().min(1).max(256).optional(),
    threadMemory: z.object({ youngGenerationMb: z.number().int().min(1).max(1024).optional(), oldGenerationMb: z.number().int().min(16).optional() }).strict().optional(),
    shutdownTimeoutMs: positiveInt.optional(),
    defaults: z.object(groupSettingsShape).strict().optional(),
    defaultConsumerGroup: z.string().min(1).optional(),
    topics: z.record(z.string(), topicSchema).optional(),
    routes: z.record(z.string().min(1), groupSchema).optional(),
  })
  .strict();

