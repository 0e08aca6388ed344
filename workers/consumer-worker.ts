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
import { PartitionRunner } from '../src/runtime/partition-runner.ts';
import { publishThreadMetrics } from '../src/metrics/thread-metrics.ts';
import type { WorkerData } from '../src/runtime/pool.ts';
import type { BatchOutcome, HookOutcome, PingOutcome, WorkerTask } from '../src/runtime/wire.ts';

const { bootFile, metricsChannel, metricsIntervalMs } = workerData as WorkerData;
if (metricsChannel) publishThreadMetrics(metricsChannel, threadId, metricsIntervalMs ?? 5000);
const runner: Promise<PartitionRunner> = loadApp(bootFile).then((app) => new PartitionRunner(app));
// Reported on the first task rather than crashing the thread at import time.
runner.catch(() => {});

export default async function handle(task: WorkerTask): Promise<BatchOutcome | HookOutcome | PingOutcome> {
  const r = await runner;
  switch (task.kind) {
    case 'batch':
      return r.runBatch(task.group, unpackBatch(task.packed), task.attempt, task.nextOffset);
    case 'revoke':
      return r.revoke(task.group, task.topic, task.partition);
    case 'shutdown':
      return r.shutdown();
    case 'ping':
      return { threadId };
  }
}
