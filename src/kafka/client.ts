/**
 * The kafkajs client every part of Partita connects with (brokers, TLS, SASL,
 * timeouts, retry budget), its log lines routed into pino.
 */
import kafkajs, { type Kafka as KafkajsClient, type Producer as KafkajsProducer, type SASLOptions } from 'kafkajs';
import type { ResolvedKafkaConfig } from './types.ts';
import type { Logger } from '../logger.ts';
import { installCodecs } from './codecs.ts';

const { Kafka, logLevel, Partitioners } = kafkajs;

export type { KafkajsProducer };

/** Routes kafkajs's own log lines into pino (warnings and errors only). */
function kafkajsLogCreator(logger: Logger) {
  return () =>
    ({ level, log }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      const { message, ...extra } = log;
      // Our idempotent producers keep a bounded retry budget on purpose (a failed write fails its
      // batch, which is retried: at least once); kafkajs's warning about it is noise here.
      if (message?.startsWith('Limiting retries for the idempotent producer')) return;
      if (level === logLevel.ERROR) logger.error({ kafkajs: extra }, message);
      else if (level === logLevel.WARN) logger.warn({ kafkajs: extra }, message);
    };
}

export function createKafkaClient(config: ResolvedKafkaConfig, logger: Logger): KafkajsClient {
  // Snappy, lz4 and zstd topics are readable by every client Partita makes.
  installCodecs();
  return new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    ssl: config.ssl as boolean | undefined,
    sasl: config.sasl as SASLOptions | undefined,
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    retry: { retries: config.connectRetries, initialRetryTime: 300, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator(logger),
  });
}

/**
 * A producer for writes that must land exactly once each (dead letters):
 * idempotent, so kafkajs's own retries cannot write a record twice, and
 * retrying without limit (a non-retriable error still surfaces; the caller
 * retries the whole write with its backoff).
 */
export function createPersistentProducer(config: ResolvedKafkaConfig, logger: Logger): KafkajsProducer {
  return createKafkaClient(config, logger).producer({
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5000 },
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}
