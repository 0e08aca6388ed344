/**
 * Helpers for testing a Partita app (`partita/testing`): without a broker,
 * `testConsumer` runs a route's consumer in-process and records what it
 * produces; against a real broker, `ensureTopics` and `readMessages`.
 */
import { randomUUID } from 'node:crypto';
import type { App } from './app/app.ts';
import { createTopics } from './app/topics.ts';
import { TestReadTimeoutError } from './errors.ts';
import { createLogger } from './logger.ts';
import { createKafkaClient } from './kafka/client.ts';

export { createTopics as ensureTopics } from './app/topics.ts';
export { ConsumerTest, testConsumer, type ConsumeReport, type ProducedMessage, type TestConsumerOptions, type TestMessage } from './testing/consumer-test.ts';

export interface ReadMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  /** The value parsed as JSON (throws if it is not JSON). */
  readonly payload: unknown;
}

export interface ReadOptions {
  /** Stop after this many matching messages. @default 1 */
  count?: number;
  /** Only messages for which this returns true count (and are returned). */
  where?: (m: ReadMessage) => boolean;
  /** @default 30000 */
  timeoutMs?: number;
}

/**
 * Reads `topic` from the beginning with a throwaway consumer group until
 * `count` messages matched `where`; rejects after `timeoutMs` saying how many it saw.
 */
export async function readMessages(app: App, topic: string, options: ReadOptions = {}): Promise<ReadMessage[]> {
  const { count = 1, where = () => true, timeoutMs = 30_000 } = options;
  const consumer = createKafkaClient(app.config.kafka, createLogger({ level: 'error' })).consumer({ groupId: `partita-testing-${randomUUID()}` });
  const found: ReadMessage[] = [];
  let seen = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done!: () => void;
    const enough = new Promise<void>((r) => (done = r));
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen += 1;
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(Array.isArray(v) ? v[0] : v);
        const value = message.value?.toString('utf8') ?? null;
        const m: ReadMessage = {
          topic,
          partition,
          offset: Number(message.offset),
          key: message.key?.toString('utf8') ?? null,
          value,
          headers,
          get payload() {
            return value === null ? null : JSON.parse(value);
          },
        };
        if (found.length < count && where(m)) found.push(m);
        if (found.length >= count) done();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TestReadTimeoutError(`readMessages(${topic}): ${found.length}/${count} matching after ${timeoutMs} ms (${seen} read)`)), timeoutMs);
    });
    try {
      await Promise.race([enough, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await consumer.disconnect();
  }
  return found;
}
