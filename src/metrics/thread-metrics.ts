/**
 * Runtime metrics of one thread: prom-client's default metrics (heap, GC,
 * event loop lag…) plus event loop utilisation, all labelled `thread`
 * ("main" or the worker's threadId). Each worker thread publishes a JSON
 * snapshot of its registry on a BroadcastChannel every interval; the main
 * thread keeps the latest snapshot per thread and merges them into its
 * exposition. Nothing here runs per message.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { collectDefaultMetrics, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

export interface ThreadSnapshotMessage {
  kind: 'snapshot';
  threadId: number;
  metrics: MetricsSnapshot;
}

/** A registry with the default metrics and event loop utilisation of the calling thread. */
export function threadRegistry(thread: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, labels: { thread } });
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  new Gauge({
    name: 'partita_event_loop_utilization_ratio',
    help: "Share of time this thread's event loop was busy since the previous collection (1 = saturated).",
    labelNames: ['thread'],
    registers: [registry],
    collect() {
      const now = performance.eventLoopUtilization();
      this.set({ thread }, performance.eventLoopUtilization(now, last).utilization);
      last = now;
    },
  });
  return registry;
}

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

/** Main side: the latest snapshot of each live worker thread. */
export class ThreadSnapshots {
  readonly #channel: BroadcastChannel;
  readonly #latest = new Map<number, MetricsSnapshot>();

  constructor(channelName: string) {
    this.#channel = new BroadcastChannel(channelName);
    this.#channel.onmessage = (event) => {
      const msg = (event as { data?: ThreadSnapshotMessage }).data;
      if (msg?.kind === 'snapshot') this.#latest.set(msg.threadId, msg.metrics);
    };
    (this.#channel as unknown as { unref?: () => void }).unref?.();
  }

  /** A dead thread's series disappear (a replacement reports under its own id). */
  forget(threadId: number): void {
    this.#latest.delete(threadId);
  }

  all(): MetricsSnapshot[] {
    return [...this.#latest.values()];
  }

  close(): void {
    this.#channel.close();
  }
}
