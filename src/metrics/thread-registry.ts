/**
 * Runtime metrics of one thread: prom-client's default metrics (heap, GC,
 * event loop lag…) plus event loop utilisation, all labelled `thread`
 * ("main" or the worker's threadId). Each worker thread publishes a JSON
 * snapshot of its registry (src/worker/thread-metrics.ts); the main thread
 * keeps the latest per thread (thread-snapshots.ts) and merges them into its
 * exposition. Nothing here runs per message.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

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
