/**
 * The log lines of what happens to groups, partitions, commits and worker
 * threads: a subscriber of the instrumentation events, like the metrics.
 * (Batch failures are logged where they are decided, in the scheduler, with
 * the retry decision in words.)
 */
import type { Logger } from '../logger.ts';
import { describePartition } from '../protocol/partition-id.ts';
import type { Instrumentation } from '../events.ts';

export function logEvents(events: Instrumentation, logger: Logger): void {
  const of = (group: string) => logger.child({ group });
  events.on('group.joined', (e) => of(e.group).info({ assignment: e.assignment, durationMs: e.durationMs }, 'joined consumer group'));
  events.on('group.rebalancing', (e) => of(e.group).info('group is rebalancing'));
  events.on('partition.revoked', (e) => of(e.group).info({ topic: e.topic, partition: e.partition }, 'partition revoked'));
  events.on('offsets.commit_failed', (e) => {
    if (e.error !== undefined) of(e.group).warn({ err: e.error }, 'offset commit failed; will retry');
    else {
      of(e.group).warn(
        { partitions: e.unacknowledged.map((o) => `${o.topic}/${o.partition}@${o.offset}`) },
        'offset commit not acknowledged by Kafka (the consumer is rejoining or restarting); will retry',
      );
    }
  });
  events.on('worker.lost', (e) =>
    logger.warn({ threadId: e.threadId, partitions: e.partitions.map(describePartition) }, 'worker thread died; its partitions restart from their processed offsets on a live thread'),
  );
  events.on('worker.error', (e) => logger.error({ err: e.error }, 'worker thread failed outside a batch; it is replaced'));
}
