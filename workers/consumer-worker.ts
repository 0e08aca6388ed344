/**
 * Worker-thread entry (Piscina). Loads the boot file once, then serves tasks:
 * batches for the partitions pinned to this thread, revokes and shutdown.
 * Hot path: unpack the transferred buffer, run consume() on the partition's
 * persistent instance, return the offset to commit.
 */
import { threadId } from 'node:worker_threads';
import { workerData } from 'piscina';
import { loadApp } from '../src/app/boot.ts';
import { unpackBatch } from '../src/messages/raw-batch.ts';
import { PortProducer } from '../src/producer/port-producer.ts';
import { PartitionRunner } from '../src/runtime/partition-runner.ts';
import { publishThreadMetrics } from '../src/metrics/thread-metrics.ts';
import type { WorkerData } from '../src/runtime/pool.ts';
import type { BatchOutcome, HookOutcome, PingOutcome, WorkerTask } from '../src/runtime/wire.ts';

const { bootFile, metricsChannel, metricsIntervalMs } = workerData as WorkerData;
if (metricsChannel) publishThreadMetrics(metricsChannel, threadId, metricsIntervalMs ?? 5000);
const booted = loadApp(bootFile).then((app) => ({ app, runner: new PartitionRunner(app) }));
// Reported on the first task (the boot ping) rather than crashing the thread at import time.
booted.catch(() => {});

export default async function handle(task: WorkerTask): Promise<BatchOutcome | HookOutcome | PingOutcome> {
  const { app, runner: r } = await booted;
  switch (task.kind) {
    case 'batch':
      return r.runBatch(task.group, unpackBatch(task.packed), task.attempt, task.nextOffset);
    case 'revoke':
      return r.revoke(task.group, task.topic, task.partition);
    case 'shutdown':
      return r.shutdown();
    case 'ping':
      if (task.producerPort) app.useProducer(new PortProducer(task.producerPort, app.config.producer.serializers));
      return { threadId };
  }
}
