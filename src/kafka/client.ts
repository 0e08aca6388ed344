/**
 * The kafkajs client every part of Partita connects with (brokers, TLS, SASL,
 * timeouts, retry budget), its log lines routed into pino.
 */
import { createRequire } from 'node:module';
import kafkajs, { type Kafka as KafkajsClient, type Producer as KafkajsProducer, type SASLOptions } from 'kafkajs';
import type { ResolvedKafkaConfig } from './types.ts';
import type { Logger } from '../logger.ts';
import { installCodecs } from './codecs.ts';
import { installIdleRequestQueue } from './request-queue-idle.ts';

const { Kafka, logLevel, Partitioners } = kafkajs;

export type { KafkajsProducer };

// The messages of the protocol errors kafkajs retries itself (COORDINATOR_NOT_AVAILABLE,
// COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR, LEADER_NOT_AVAILABLE, …), from its own table.
const { errorCodes } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as { errorCodes: Array<{ type: string; message: string; retriable: boolean }> };
// kafkajs's line for a failed response: `Response GroupCoordinator(key: 10, version: 2)`.
const RESPONSE = /^(?:\[\w+\] )?Response \w+\(key: \d+/;
const RETRIABLE = new Set(errorCodes.filter((e) => e.retriable).map((e) => e.message));
/**
 * Not retriable in Kafka's table, but handled by kafkajs all the same: a heartbeat that
 * learns of a rebalance makes it rejoin (it says so itself at warn: "re-joining").
 */
const HANDLED = new Set(errorCodes.filter((e) => e.type === 'REBALANCE_IN_PROGRESS').map((e) => e.message));
const CONSUMER_CRASH = /^(?:\[\w+\] )?(?:Crash: |Restarting the consumer in )/;
const CONNECTION = /^(?:\[\w+\] )?(?:Connection error: |Connection timeout$|Failed to connect to broker, reconnecting$)/;

/**
 * The pino level for one kafkajs log line, or null to drop it. kafkajs logs
 * every failed response at ERROR, including the transient ones it retries
 * (a group coordinator that is not available yet, or still loading, in the
 * first seconds of a broker): those are debug lines while retrying goes on —
 * if the retries run out, the failure surfaces as Partita's own error
 * (BROKER_UNREACHABLE, FETCHER_CRASHED, …). The consumer's crash and restart
 * lines are debug too (Partita logs the crash once, with what follows it);
 * a broker it cannot connect to while retrying is a warning.
 */
export function kafkajsLogLevel(level: number, log: { message?: string; error?: unknown }): 'error' | 'warn' | 'debug' | null {
  // Our idempotent producers keep a bounded retry budget on purpose (a failed write fails its
  // batch, which is retried: at least once); kafkajs's warning about it is noise here.
  if (log.message?.startsWith('Limiting retries for the idempotent producer')) return null;
  if (level === logLevel.ERROR) {
    const message = log.message ?? '';
    if (RESPONSE.test(message)) return typeof log.error === 'string' && (RETRIABLE.has(log.error) || HANDLED.has(log.error)) ? 'debug' : 'error';
    // The consumer's crash and its own restart: Partita logs each crash itself, once, with its
    // outcome (a warning when kafkajs or Partita starts the consumer again, FETCHER_CRASHED when not).
    if (CONSUMER_CRASH.test(message)) return 'debug';
    // A broker that cannot be reached (down, restarting) while kafkajs retries it and the others
    // carry on: a degraded cluster, a warning; when retrying gives up, Partita's own error says so.
    if (CONNECTION.test(message)) return 'warn';
    return 'error';
  }
  if (level === logLevel.WARN) return 'warn';
  return null;
}

/** Routes kafkajs's own log lines into pino (warnings and errors, transient ones lowered). */
function kafkajsLogCreator(logger: Logger) {
  return () =>
    ({ level, log }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      const to = kafkajsLogLevel(level, log);
      if (to === null) return;
      const { message, ...extra } = log;
      logger[to]({ kafkajs: extra }, message);
    };
}

export function createKafkaClient(config: ResolvedKafkaConfig, logger: Logger): KafkajsClient {
  // Snappy, lz4 and zstd topics are readable by every client Partita makes.
  installCodecs();
  // And no idle connection spins kafkajs's 1 ms re-check timer (see request-queue-idle.ts).
  installIdleRequestQueue();
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
