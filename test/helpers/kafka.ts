/** Shared helpers for integration tests: the broker address, unique topics, producing ids. */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { clusterDir, nodeDir } from '../../scripts/kafka/layout.ts';
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

/** Per partition: Kafka's committed offset of `group` (null: none) and the log end offset, read with the admin API. */
export async function commitsVsLogEnd(group: string, topic: string): Promise<Array<{ partition: number; committed: number | null; logEnd: number }>> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    let committed;
    // Under load the coordinator can be loading or moving (a retriable NOT_COORDINATOR): ask again.
    for (let attempt = 1; ; attempt++) {
      try {
        [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        break;
      } catch (err) {
        if (attempt >= 20 || !(err as { retriable?: boolean }).retriable) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    const ends = await admin.fetchTopicOffsets(topic);
    return ends
      .map((e) => {
        const c = Number(committed!.partitions.find((p) => p.partition === e.partition)?.offset ?? -1);
        return { partition: e.partition, committed: c < 0 ? null : c, logEnd: Number(e.high) };
      })
      .sort((a, b) => a.partition - b.partition);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Committed and log end offsets per partition as Kafka's own
 * ConsumerGroupCommand (kafka-consumer-groups --describe) reports them:
 * the view of an operator, independent of kafkajs and of Partita.
 */
export async function describeGroupWithKafkaTool(bootstrap: string, group: string): Promise<Array<{ topic: string; partition: number; committed: number | null; logEnd: number }>> {
  const { libsDir } = await import('../../scripts/kafka/broker.ts');
  const { execFile } = await import('node:child_process');
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      'java',
      ['-Xmx256m', '-cp', `${libsDir()}/*`, 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand', '--bootstrap-server', bootstrap, '--describe', '--group', group],
      { timeout: 60_000 },
      (err, out, errOut) => (err ? reject(new Error(`kafka-consumer-groups failed: ${err.message}\n${errOut}`)) : resolve(out)),
    ),
  );
  const rows: Array<{ topic: string; partition: number; committed: number | null; logEnd: number }> = [];
  for (const line of stdout.split('\n')) {
    const cols = line.trim().split(/\s+/);
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
    if (cols.length < 6 || cols[0] !== group || !/^\d+$/.test(cols[2]!)) continue;
    rows.push({ topic: cols[1]!, partition: Number(cols[2]), committed: cols[3] === '-' ? null : Number(cols[3]), logEnd: Number(cols[4]) });
  }
  return rows.sort((a, b) => a.partition - b.partition);
}

/** Java's String#hashCode, which Kafka uses to place a group on a __consumer_offsets partition. */
function javaHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Node id of the group's coordinator: the leader of its __consumer_offsets partition. */
export async function groupCoordinator(group: string, client: KafkaClient = kafka()): Promise<number> {
  const admin = client.admin();
  await admin.connect();
  try {
    const md = await admin.fetchTopicMetadata({ topics: ['__consumer_offsets'] });
    const partitions = md.topics[0]!.partitions;
    const index = (javaHashCode(group) & 0x7fffffff) % partitions.length;
    return partitions.find((p) => p.partitionId === index)!.leader;
  } finally {
    await admin.disconnect();
  }
}

/** The broker's data directory, when the suite's broker is the local single-node one this repo runs (undefined otherwise). */
export function localDataDir(): string | undefined {
  const bootstrap = process.env.KAFKA_BROKERS?.split(',')[0];
  if (!bootstrap) return undefined;
  const dir = join(nodeDir(clusterDir(Number(bootstrap.split(':')[1]), 1), 0), 'data');
  return existsSync(dir) ? dir : undefined;
}
