/**
 * Worker-thread entry (Piscina). Loads the boot file once, then serves tasks:
 * batches for the partitions pinned to this thread, revokes and shutdown.
 * Hot path: read the batch's window of the partition's record set (decode,
 * decompress, check), run consume() on the partition's persistent instance,
 * return the offset to commit.
 */
import { MessageChannel, parentPort, threadId } from 'node:worker_threads';
import { workerData } from 'piscina';
import { loadApp } from '../app/boot.ts';
import { PortProducer } from './port-producer.ts';
import { PartitionRunner } from '../runner/partition-runner.ts';
import { publishThreadMetrics } from './thread-metrics.ts';
import type { BootMessage, WorkerData } from '../protocol/boot.ts';
import { admitted, type BatchOutcome, type HookOutcome, type PingOutcome, type WorkerTask } from '../protocol/tasks.ts';

const { bootFile, metricsChannel, metricsIntervalMs } = workerData as WorkerData;
if (metricsChannel) publishThreadMetrics(metricsChannel, threadId, metricsIntervalMs ?? 5000);
const booted = loadApp(bootFile).then((app) => {
  // Produce requests go to the main thread's producer over this channel.
  const { port1, port2 } = new MessageChannel();
  app.useProducer(new PortProducer(port1, app.config.producer.serializers));
  return { app, runner: new PartitionRunner(app), producerPort: port2 };
});
// Tell the pool we can take work (or why not); it sends nothing to this thread before.
booted.then(
  ({ producerPort }) => parentPort!.postMessage({ partitaBoot: 'booted', threadId, producerPort } satisfies BootMessage, [producerPort]),
  (err: unknown) => parentPort!.postMessage({ partitaBoot: 'failed', threadId, error: (err as Error)?.message ?? String(err) } satisfies BootMessage),
);

export default async function handle(task: WorkerTask): Promise<BatchOutcome | HookOutcome | PingOutcome> {
  const { runner: r } = await booted;
  switch (task.kind) {
    case 'batch':
      // A batch fenced while it waited for this thread never enters consume() (see Gate).
      if (!admitted(task.gate)) return { threadId, withdrawn: true, commitOffset: null, durationMs: 0 };
      return r.runBatch(task.group, task.topic, task.partition, task.records, task.window, task.attempt, task.gate, task.lane);
    case 'revoke':
      return r.revoke(task.group, task.topic, task.partition, task.lane);
    case 'eofed':
      return r.eofed(task.group, task.topic, task.partition, task.lane);
    case 'shutdown':
      return r.shutdown();
    case 'ping':
      return { threadId };
  }
}
