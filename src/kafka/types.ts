/**
 * What Partita knows about a Kafka cluster and its topics, as plain types.
 * A leaf module on purpose: the config, the producer, responders and the
 * kafkajs client all need these shapes, and none of them may import another
 * for it (that was an import cycle).
 */

/** Connection settings, passed through to kafkajs. */
export interface KafkaConfig {
  /** `host:port` list. */
  brokers: string[];
  /** @default 'partita' */
  clientId?: string;
  /** `true` or Node `tls.connect` options. */
  ssl?: boolean | Record<string, unknown>;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** @default 3000 */
  connectionTimeoutMs?: number;
  /** @default 30000 */
  requestTimeoutMs?: number;
  /** How many times to retry connecting before giving up (kafkajs retry budget). @default 5 */
  connectRetries?: number;
}

export interface KafkaTopicDeclaration {
  partitions: number;
  /** @default 1 */
  replicationFactor?: number;
  /** Topic configs, e.g. `{ 'retention.ms': '86400000', 'cleanup.policy': 'compact' }`. */
  config?: Record<string, string>;
}

export type ResolvedKafkaConfig = Required<Pick<KafkaConfig, 'brokers' | 'clientId' | 'connectionTimeoutMs' | 'requestTimeoutMs' | 'connectRetries'>> & Pick<KafkaConfig, 'ssl' | 'sasl'>;

/** A partition and an offset in it: what is committed (the next offset to read). */
export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read, as Kafka commits it. */
  offset: number;
}

/** A consumer group as the admin side needs it: its id and the cluster it lives on. */
export interface GroupConnection {
  name: string;
  kafka: ResolvedKafkaConfig;
}
