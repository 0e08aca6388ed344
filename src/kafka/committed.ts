/**
 * The last word on commits at a graceful stop: after the group was left,
 * read the committed offsets back from Kafka (admin API) and compare them
 * with what this process processed. Kafka's own record is the truth — a
 * commit that was skipped or lost shows up here, whatever the client said.
 */
import type { GroupConnection } from './types.ts';
import type { Logger } from '../logger.ts';
import { createKafkaClient } from './client.ts';
import type { TopicPartitionOffset } from './types.ts';

export interface UnverifiedCommit {
  group: string;
  topic: string;
  partition: number;
  processed: number;
  /** Kafka's committed offset, or null when it has none (or could not be read). */
  committed: number | null;
  /** Kafka could not be asked (no answer within the time left, or an error each time): `committed` is unknown, not absent. */
  unreadable?: true;
}

/** The pause before asking again after a failed read (growing with each attempt, to 1 s). */
const READ_RETRY_MS = 250;
/**
 * At most this long for the read-back, whatever the shutdown budget left: a coordinator moving
 * or loading settles within it; a partition of the group's own topics without a leader (its
 * only replicas down) does not, and the stop should not wait out its whole budget for that.
 */
const READ_PATIENCE_MS = 10_000;

/**
 * The partitions whose committed offset in Kafka is behind `expected`; when
 * Kafka cannot be read within `timeoutMs` (at most READ_PATIENCE_MS), all of
 * them, marked `unreadable`.
 * Every failed read is tried again while time is left (a coordinator moving
 * or loading answers errors for a while): a stop must not report as missing
 * a commit it merely could not read yet.
 */
export async function verifyCommitted(group: GroupConnection, expected: TopicPartitionOffset[], logger: Logger, timeoutMs: number): Promise<UnverifiedCommit[]> {
  if (expected.length === 0) return [];
  const unread = (): UnverifiedCommit[] => expected.map((e) => ({ group: group.name, topic: e.topic, partition: e.partition, processed: e.offset, committed: null, unreadable: true }));
  const admin = createKafkaClient({ ...group.kafka, connectRetries: 2 }, logger).admin();
  let timer: NodeJS.Timeout | undefined;
  const patienceMs = Math.min(timeoutMs, READ_PATIENCE_MS);
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), patienceMs)));
  let gaveUp = false;
  let lastError: unknown;
  const read = (async () => {
    const topics = [...new Set(expected.map((e) => e.topic))];
    let connected = false;
    for (let attempt = 1; ; attempt++) {
      try {
        if (!connected) await admin.connect();
        connected = true;
        // Metadata of the group's own topics first: a fresh kafkajs client otherwise looks for the
        // coordinator with metadata of every topic in the cluster, and kafkajs fails a metadata
        // answer in which any partition has no leader (a broker down can leave one in a topic
        // nobody here reads); this way only the group's own topics need their leaders.
        await admin.fetchTopicMetadata({ topics });
        return await admin.fetchOffsets({ groupId: group.name, topics });
      } catch (err) {
        lastError = err;
        // A broker's definite no (not authorised, for one) will not change by asking again.
        const definite = (err as { name?: string; retriable?: boolean }).name === 'KafkaJSProtocolError' && (err as { retriable?: boolean }).retriable === false;
        if (gaveUp || definite) throw err;
        logger.debug({ err, attempt }, 'reading the committed offsets back failed; asking again');
        await new Promise((r) => setTimeout(r, Math.min(1000, READ_RETRY_MS * attempt)));
      }
    }
  })();
  read.catch(() => {});
  try {
    let result: Awaited<typeof read> | 'timeout';
    try {
      result = await Promise.race([read, timedOut]);
    } catch (err) {
      logger.warn({ err }, 'could not read the committed offsets back from Kafka');
      return unread();
    }
    if (result === 'timeout') {
      gaveUp = true;
      logger.warn({ timeoutMs: patienceMs, err: lastError }, 'could not read the committed offsets back from Kafka in time');
      return unread();
    }
    const committed = new Map<string, number>();
    for (const t of result) for (const p of t.partitions) committed.set(`${t.topic}/${p.partition}`, Number(p.offset));
    return expected
      .map((e) => {
        const c = committed.get(`${e.topic}/${e.partition}`);
        return { group: group.name, topic: e.topic, partition: e.partition, processed: e.offset, committed: c === undefined || c < 0 ? null : c };
      })
      .filter((u) => u.committed === null || u.committed < u.processed);
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => {});
  }
}
