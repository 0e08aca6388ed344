/**
 * From a validated config to what the runtime reads: defaults filled in
 * (from defaults.ts), top-level `topics` folded into the default group,
 * and the checks that span options (every problem reported at once).
 * Validation runs on the main thread and again in each worker (both import
 * the boot file), so it stays cheap.
 */
import { availableParallelism } from 'node:os';
import type { z } from 'zod';
import type { ConsumerClass } from '../consumer/consumer.ts';
import type { ResponderClass } from '../consumer/responder.ts';
import { ConfigError, type ConfigProblem } from '../errors.ts';
import type { KafkaConfig, KafkaTopicDeclaration, ResolvedKafkaConfig } from '../kafka/types.ts';
import type { Deserializer } from '../messages/deserializers.ts';
import type { Message } from '../messages/messages.ts';
import type { ProducerSettings } from '../producer/producer.ts';
import { DEFAULTS } from './defaults.ts';
import { appSchema, TOPIC_NAME, type DeadLetterOptions, type GroupSettings, type HttpConfig, type MetricsConfig, type ThreadMemoryConfig, type TopicOptions, type groupSchema } from './schema.ts';

export type { KafkaConfig, KafkaTopicDeclaration, ResolvedKafkaConfig };
export type { AppConfig, ConsumerGroupConfig, DeadLetterOptions, GroupSettings, HttpConfig, MetricsConfig, ProducerConfig, ThreadMemoryConfig, TopicOptions } from './schema.ts';

/** A topic route after validation, with every default filled in. */
export interface TopicRoute {
  group: string;
  topic: string;
  consumer: ConsumerClass;
  deserializer: Deserializer;
  backend: 'pool' | 'inline';
  startFrom: 'earliest' | 'latest';
  active: boolean;
  filter: ((message: Message<any>) => boolean) | undefined;
  manualOffsets: boolean;
  eofed: boolean;
  /** Virtual partitions (key-level parallelism), when set; `threads` resolved (1 inline; at most max and the pool's size). */
  parallel: { by: 'key' | ((message: Message<any>) => string); max: number; threads: number; distribution: 'consistent' | 'balanced' } | undefined;
  retryBackoff: { initialMs: number; maxMs: number };
  maxMessages: number;
  timeoutMs: number | undefined;
  deadLetter: Required<DeadLetterOptions> | undefined;
  responder: ResponderClass | undefined;
  kafkaTopic: Required<KafkaTopicDeclaration> | undefined;
}

export type ResolvedGroupSettings = Required<Omit<GroupSettings, 'retryBackoff'>> & { retryBackoff: { initialMs: number; maxMs: number } };

export interface ConsumerGroupRoute {
  name: string;
  kafka: ResolvedKafkaConfig;
  settings: ResolvedGroupSettings;
  topics: TopicRoute[];
}

export interface ResolvedConfig {
  kafka: ResolvedKafkaConfig;
  producer: ProducerSettings;
  http: Required<HttpConfig>;
  metrics: Required<MetricsConfig>;
  concurrency: number;
  threadMemory: ThreadMemoryConfig & { youngGenerationMb: number };
  shutdownTimeoutMs: number;
  groups: ConsumerGroupRoute[];
}


function problemsOf(error: z.ZodError): ConfigProblem[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => ({ path: path ? `${path}.${k}` : k, message: 'unknown option' }));
    }
    return [{ path, message: issue.message }];
  }).flat();
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Topic names are checked apart from the schema: a record whose key fails
 * validation would hide the problems of its value, and we report all at once.
 */
function topicNameProblems(input: unknown): ConfigProblem[] {
  if (!isRecord(input)) return [];
  const maps: Array<[string, unknown]> = [['topics', input.topics]];
  if (isRecord(input.routes)) for (const [g, group] of Object.entries(input.routes)) maps.push([`routes.${g}.topics`, isRecord(group) ? group.topics : undefined]);
  return maps.flatMap(([path, topics]) =>
    isRecord(topics)
      ? Object.keys(topics).filter((t) => !TOPIC_NAME.test(t)).map((t) => ({ path: `${path}.${t}`, message: 'must be a Kafka topic name (letters, digits, . _ -; at most 249)' }))
      : [],
  );
}

/** Validates a config and fills in defaults; throws ConfigError listing every problem. */
export function resolveConfig(input: unknown): ResolvedConfig {
  const parsed = appSchema.safeParse(input);
  const names = topicNameProblems(input);
  if (!parsed.success || names.length > 0) throw new ConfigError([...(parsed.success ? [] : problemsOf(parsed.error)), ...names]);
  const cfg = parsed.data;
  const problems: ConfigProblem[] = [];
  const clientId = cfg.kafka.clientId ?? DEFAULTS.kafka.clientId;
  const defaultGroup = cfg.defaultConsumerGroup ?? clientId;
  const declared: Array<[string, z.infer<typeof groupSchema>]> = Object.entries(cfg.routes ?? {});
  if (cfg.topics && Object.keys(cfg.topics).length > 0) {
    if (cfg.routes?.[defaultGroup]) {
      problems.push({ path: 'topics', message: `the default consumer group "${defaultGroup}" is also declared in routes; move these topics into routes.${defaultGroup}.topics or set defaultConsumerGroup` });
    } else {
      declared.unshift([defaultGroup, { topics: cfg.topics }]);
    }
  }
  if (declared.length === 0) problems.push({ path: 'routes', message: 'declare at least one topic (in routes.<group>.topics or topics)' });
  for (const [name, g] of declared) {
    if (Object.keys(g.topics).length === 0) problems.push({ path: `routes.${name}.topics`, message: 'must declare at least one topic' });
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const concurrency = cfg.concurrency ?? availableParallelism();
  const groups: ConsumerGroupRoute[] = declared.map(([name, g]) => {
    const kafka = resolveKafka({ ...cfg.kafka, ...g.kafka, brokers: g.kafka?.brokers ?? cfg.kafka.brokers }, clientId);
    const { topics: _t, kafka: _k, ...own } = g;
    const settings = { ...DEFAULTS.group, ...cfg.defaults, ...own } as ResolvedGroupSettings;
    settings.retryBackoff = { ...DEFAULTS.group.retryBackoff, ...cfg.defaults?.retryBackoff, ...own.retryBackoff };
    return {
      name,
      kafka,
      settings,
      topics: Object.entries(g.topics).map(([topic, t]) => ({
        group: name,
        topic,
        consumer: t.consumer,
        deserializer: t.deserializer ?? DEFAULTS.topic.deserializer,
        backend: t.backend ?? DEFAULTS.topic.backend,
        startFrom: t.startFrom ?? DEFAULTS.topic.startFrom,
        active: t.active ?? DEFAULTS.topic.active,
        filter: t.filter,
        manualOffsets: t.manualOffsets ?? DEFAULTS.topic.manualOffsets,
        eofed: t.eofed ?? DEFAULTS.topic.eofed,
        parallel: t.parallel ? resolveParallel(t.parallel, t.backend ?? DEFAULTS.topic.backend, concurrency) : undefined,
        retryBackoff: { ...settings.retryBackoff, ...t.retryBackoff },
        maxMessages: t.maxMessages ?? settings.maxMessages,
        timeoutMs: t.timeoutMs,
        deadLetter: t.deadLetter ? { ...DEFAULTS.deadLetter, ...t.deadLetter } : undefined,
        responder: t.responder,
        kafkaTopic: t.kafkaTopic ? { ...DEFAULTS.kafkaTopic, config: {}, ...t.kafkaTopic } : undefined,
      })),
    };
  });
  for (const g of groups) {
    const at = g.name === defaultGroup && !cfg.routes?.[g.name] ? 'defaults' : `routes.${g.name}`;
    if (g.settings.heartbeatIntervalMs >= g.settings.sessionTimeoutMs) {
      problems.push({ path: `${at}.heartbeatIntervalMs`, message: `must be lower than sessionTimeoutMs (${g.settings.sessionTimeoutMs}), got ${g.settings.heartbeatIntervalMs}` });
    }
    const declaredTopics = declared.find(([n]) => n === g.name)?.[1].topics ?? {};
    const ownBackoffs = g.topics.filter((t) => declaredTopics[t.topic]?.retryBackoff).map((t) => [`${at}.topics.${t.topic}.retryBackoff`, t.retryBackoff] as const);
    for (const [path, b] of [[`${at}.retryBackoff`, g.settings.retryBackoff] as const, ...ownBackoffs]) {
      if (b.initialMs > b.maxMs) problems.push({ path, message: `initialMs (${b.initialMs}) must not exceed maxMs (${b.maxMs})` });
    }
    for (const t of g.topics) {
      const seen = new Set<string>();
      for (const [i, o] of (t.responder?.topics ?? []).entries()) {
        const path = `${at}.topics.${t.topic}.responder.topics.${i}`;
        if (typeof o?.name !== 'string' || !TOPIC_NAME.test(o.name)) problems.push({ path, message: `must be declared with topic(name) and a Kafka topic name, got ${JSON.stringify(o?.name)}` });
        else if (seen.has(o.name)) problems.push({ path, message: `topic "${o.name}" is declared twice` });
        else seen.add(o.name);
        const p = o?.kafkaTopic?.partitions;
        if (o?.kafkaTopic && (!Number.isInteger(p) || p! < 1)) problems.push({ path: `${path}.kafkaTopic.partitions`, message: `must be a positive integer, got ${JSON.stringify(p)}` });
      }
      if (t.deadLetter?.topic === t.topic) problems.push({ path: `${at}.topics.${t.topic}.deadLetter.topic`, message: 'must differ from the topic it serves' });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const http = { ...DEFAULTS.http, ...cfg.http };
  const k = cfg.kafka;
  const kafka = resolveKafka(k, clientId);
  const producer: ProducerSettings = { ...DEFAULTS.producer, serializers: {}, ...cfg.producer };
  return { kafka, producer, http, metrics: { ...DEFAULTS.metrics, ...cfg.metrics }, concurrency, threadMemory: { ...DEFAULTS.threadMemory, ...cfg.threadMemory }, shutdownTimeoutMs: cfg.shutdownTimeoutMs ?? DEFAULTS.app.shutdownTimeoutMs, groups };
}

/**
 * How many threads a partition's virtual partitions spread over: the option, else
 * every pool thread; never more than there are threads or virtual partitions; 1
 * inline (the main thread is one thread).
 */
function resolveParallel(p: NonNullable<TopicOptions['parallel']>, backend: 'pool' | 'inline', concurrency: number): NonNullable<TopicRoute['parallel']> {
  const threads = backend === 'inline' ? 1 : Math.min(p.threads ?? concurrency, concurrency, p.max);
  return { by: p.by ?? 'key', max: p.max, threads, distribution: p.distribution ?? 'consistent' };
}

/** Connection settings with their defaults (`clientId`: the app's, which a group inherits). */
function resolveKafka(k: Partial<KafkaConfig>, clientId: string): ResolvedKafkaConfig {
  return {
    brokers: k.brokers!,
    clientId: k.clientId ?? clientId,
    connectionTimeoutMs: k.connectionTimeoutMs ?? DEFAULTS.kafka.connectionTimeoutMs,
    requestTimeoutMs: k.requestTimeoutMs ?? DEFAULTS.kafka.requestTimeoutMs,
    connectRetries: k.connectRetries ?? DEFAULTS.kafka.connectRetries,
    ssl: k.ssl,
    sasl: k.sasl,
  };
}
