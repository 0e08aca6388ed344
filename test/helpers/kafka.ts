/** Shared helpers for integration tests: the broker address, unique topics, producing ids. */
import { randomBytes } from 'node:crypto';
import kafkajs, { type Kafka as KafkaClient } from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

export function brokers(): string[] {
  const list = process.env.KAFKA_BROKERS;
  if (!list) throw new Error('KAFKA_BROKERS is not set: run integration tests through `npm test` (it starts a broker) or set it.');
  return list.split(',').map((b) => b.trim());
}

export function kafka(clientId = 'partita-test'): KafkaClient {
  return new Kafka({ clientId, brokers: brokers(), logLevel: logLevel.NOTHING });
}

/** Topic and group names unique per test run, so tests never see each other's data. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export async function createTopic(topic: string, numPartitions: number, replicationFactor = 1, client: KafkaClient = kafka()): Promise<void> {
  const admin = client.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor }], waitForLeaders: false });
    // kafkajs's own waitForLeaders can surface a transient UNKNOWN_TOPIC_OR_PARTITION under load; poll instead.
    await waitFor(async () => {
      try {
        const md = await admin.fetchTopicMetadata({ topics: [topic] });
        const parts = md.topics[0]?.partitions ?? [];
        return parts.length === numPartitions && parts.every((p) => p.leader >= 0);
      } catch {
        return false;
      }
    }, `leaders for ${topic}`, 30_000, 100);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Produces messages `{"id": n}` keyed by id, spread over partitions by key.
 * Returns the ids produced. Each send becomes one record batch per partition,
 * which is also the smallest unit a fetch returns.
 */
export async function produceIds(topic: string, from: number, count: number, opts: { value?: (id: number) => string | Buffer; perSend?: number } = {}): Promise<number[]> {
  // Idempotent: a retried send (timeout under load) must not write an id twice, or the
  // duplicate counts of the tests would blame the consumer for the producer's retries.
  const producer = kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const ids: number[] = [];
  try {
    const chunk = opts.perSend ?? 1000; // messages per send ≈ Kafka record batch size
    for (let start = from; start < from + count; start += chunk) {
      const messages = [];
      for (let id = start; id < Math.min(from + count, start + chunk); id++) {
        ids.push(id);
        messages.push({ key: String(id), value: opts.value ? opts.value(id) : JSON.stringify({ id }) });
      }
      await producer.send({ topic, messages, acks: -1 });
    }
  } finally {
    await producer.disconnect();
  }
  return ids;
}

/** Polls `check` until it returns true or the timeout passes (then throws with `what`). */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
}

export interface ReadMessage {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/** Reads a topic from the beginning with a throwaway group until `expected` messages arrived (then a little longer, to catch extras). */
export async function readTopic(topic: string, expected: number, timeoutMs = 30_000): Promise<ReadMessage[]> {
  const consumer = kafka().consumer({ groupId: unique('reader'), sessionTimeout: 10_000, heartbeatInterval: 1000 });
  const out: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(Array.isArray(v) ? v[0] : v);
        out.push({ partition, offset: Number(message.offset), key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
      },
    });
    await waitFor(() => out.length >= expected, `${expected} messages in ${topic}`, timeoutMs);
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    await consumer.disconnect();
  }
  return out;
}
