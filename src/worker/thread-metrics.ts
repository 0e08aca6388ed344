/**
 * A worker thread's runtime metrics (heap, GC, event loop…, labelled with
 * its threadId), published as snapshots the main thread merges into its
 * exposition. Nothing here runs per message.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { threadRegistry } from '../metrics/thread-registry.ts';
import type { ThreadSnapshotMessage } from '../protocol/thread-metrics.ts';

/**
 * Worker side: publishes this thread's snapshot every `intervalMs`, and once
 * at start so a new thread shows up without waiting. Process-wide metrics
 * (`process_*`: CPU, RSS, fds) are left to the main thread, which reports them once.
 */
export function publishThreadMetrics(channelName: string, threadId: number, intervalMs: number): () => void {
  const registry = threadRegistry(String(threadId));
  const channel = new BroadcastChannel(channelName);
  const publish = async () => {
    const metrics = (await registry.getMetricsAsJSON()).filter((m) => !m.name.startsWith('process_'));
    channel.postMessage({ kind: 'snapshot', threadId, metrics } satisfies ThreadSnapshotMessage);
  };
  void publish();
  const timer = setInterval(() => void publish().catch(() => {}), intervalMs);
  timer.unref();
  // The channel must not keep the thread alive on its own.
  (channel as unknown as { unref?: () => void }).unref?.();
  return () => {
    clearInterval(timer);
    channel.close();
  };
}
