/**
 * Moves a poison message aside: produces it, unchanged (key, value, headers),
 * to the route's dead-letter topic with its origin and failure in `partita-*`
 * headers, and resolves only once Kafka has acknowledged the write (acks=all,
 * idempotent producer). The scheduler moves the offset past the message only
 * after that, so a message is never both skipped and absent from the DLQ.
 * One producer per consumer group (a group may use another cluster), opened
 * on first use.
 */
import type { TopicRoute } from '../config/resolve.ts';
import type { ResolvedKafkaConfig } from '../kafka/types.ts';
import { DeadLetterError, type SerializedError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { RawBatch } from '../protocol/batch-codec.ts';
import { createPersistentProducer, type KafkajsProducer as Producer } from '../kafka/client.ts';

export const DLQ_HEADERS = {
  topic: 'partita-original-topic',
  partition: 'partita-original-partition',
  offset: 'partita-original-offset',
  key: 'partita-original-key',
  timestamp: 'partita-original-timestamp',
  group: 'partita-consumer-group',
  errorClass: 'partita-error-class',
  errorCode: 'partita-error-code',
  errorMessage: 'partita-error-message',
  attempts: 'partita-attempts',
  failedAt: 'partita-failed-at',
} as const;

export interface DeadLetter {
  route: TopicRoute;
  raw: RawBatch;
  /** Index of the poison message in `raw`. */
  index: number;
  error: SerializedError;
  /** How many times the message was tried. */
  attempts: number;
}

export class DeadLetterDispatcher {
  readonly #kafka: ResolvedKafkaConfig;
  readonly #logger: Logger;
  #producer: Promise<Producer> | undefined;

  constructor(kafka: ResolvedKafkaConfig, logger: Logger) {
    this.#kafka = kafka;
    this.#logger = logger;
  }

  #connect(): Promise<Producer> {
    if (!this.#producer) {
      const producer = createPersistentProducer(this.#kafka, this.#logger);
      this.#producer = producer.connect().then(
        () => producer,
        (err) => {
          this.#producer = undefined;
          throw err;
        },
      );
    }
    return this.#producer;
  }

  /** Resolves when Kafka acknowledged the dead-letter record; rejects with DeadLetterError otherwise. */
  async dispatch(d: DeadLetter): Promise<void> {
    const dl = d.route.deadLetter!;
    const { raw, index } = d;
    const key = raw.keys.at(index) ?? null;
    const headers: Record<string, Buffer | string | Array<Buffer | string>> = {};
    for (const [name, value] of Object.entries(raw.headers.at(index) ?? {})) if (value !== undefined) headers[name] = value;
    Object.assign(headers, {
      [DLQ_HEADERS.topic]: raw.topic,
      [DLQ_HEADERS.partition]: String(raw.partition),
      [DLQ_HEADERS.offset]: String(raw.offsets[index]),
      [DLQ_HEADERS.timestamp]: String(raw.timestamps[index]),
      [DLQ_HEADERS.group]: d.route.group,
      [DLQ_HEADERS.errorClass]: d.error.name,
      [DLQ_HEADERS.errorMessage]: d.error.message.slice(0, 4000),
      [DLQ_HEADERS.attempts]: String(d.attempts),
      [DLQ_HEADERS.failedAt]: new Date().toISOString(),
    });
    if (key !== null) headers[DLQ_HEADERS.key] = key;
    if (d.error.code) headers[DLQ_HEADERS.errorCode] = d.error.code;
    try {
      const producer = await this.#connect();
      await producer.send({ topic: dl.topic, acks: -1, messages: [{ key, value: raw.values.at(index) ?? null, headers }] });
    } catch (err) {
      // Start the next attempt with a fresh producer: an idempotent producer's sequence
      // state after a failed send is not worth reasoning about.
      await this.close().catch(() => {});
      throw new DeadLetterError(dl.topic, err);
    }
  }

  async close(): Promise<void> {
    const p = this.#producer;
    this.#producer = undefined;
    if (p) await (await p.catch(() => undefined))?.disconnect();
  }
}
