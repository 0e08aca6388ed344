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
}

/** The partitions whose committed offset in Kafka is behind `expected` (all of them if Kafka cannot be read within `timeoutMs`). */
export async function verifyCommitted(group: GroupConnection, expected: TopicPartitionOffset[], logger: Logger, timeoutMs: number): Promise<UnverifiedCommit[]> {
  if (expected.length === 0) return [];
  const unread = expected.map((e) => ({ group: group.name, topic: e.topic, partition: e.partition, processed: e.offset, committed: null }));
  const admin = createKafkaClient({ ...group.kafka, connectRetries: 2 }, logger).admin();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  let gaveUp = false;
  const read = (async () => {
    await admin.connect();
    const topics = [...new Set(expected.map((e) => e.topic))];
    // The coordinator may be moving or loading (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS): ask again.
    for (;;) {
      try {
        return await admin.fetchOffsets({ groupId: group.name, topics });
      } catch (err) {
        if (gaveUp || !(err as { retriable?: boolean }).retriable) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();
  read.catch(() => {});
  try {
    const result = await Promise.race([read, timedOut]);
    if (result === 'timeout') {
      gaveUp = true;
      logger.error({ timeoutMs }, 'could not read the committed offsets back from Kafka in time');
      return unread;
    }
    const committed = new Map<string, number>();
    for (const t of result) for (const p of t.partitions) committed.set(`${t.topic}/${p.partition}`, Number(p.offset));
    return expected
      .map((e) => {
        const c = committed.get(`${e.topic}/${e.partition}`);
        return { group: group.name, topic: e.topic, partition: e.partition, processed: e.offset, committed: c === undefined || c < 0 ? null : c };
      })
      .filter((u) => u.committed === null || u.committed < u.processed);
  } catch (err) {
    logger.error({ err }, 'could not read the committed offsets back from Kafka');
    return unread;
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => {});
  }
}
