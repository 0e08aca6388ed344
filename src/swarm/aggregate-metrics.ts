/**
 * One Prometheus exposition for a swarm, from its processes' metrics (each
 * already merged across its own threads), with prom-client's cluster
 * aggregator:
 *
 * - Counters and histograms are summed: messages processed, batches failed,
 *   durations — per consumer group, topic and partition, the sum over the
 *   processes is the swarm's figure (a partition that moved in a rebalance
 *   counts on both, which is what happened). A restarted process starts its
 *   counters at 0 again: Prometheus's rate() treats the drop of the sum as a
 *   counter reset.
 * - Gauges get a `process` label (the process's swarm index) instead: a sum of
 *   event-loop lags, heap sizes, pool sizes or start times would mislead, and
 *   a per-process series is what an operator needs to find the odd one out.
 */
import { AggregatorRegistry, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

type MetricJson = MetricObjectWithValues<MetricValue<string>>;

/** Labels every gauge sample with its process; counters and histograms stay as they are (summed). */
export function labelGauges(metrics: MetricJson[], processIndex: number): MetricJson[] {
  return metrics.map((m) =>
    String(m.type) === 'gauge'
      ? { ...m, aggregator: 'sum' as const, values: m.values.map((v) => ({ ...v, labels: { ...v.labels, process: String(processIndex) } })) }
      : // 'first'/'omit' aggregators make sense across a process's threads, not across processes.
        { ...m, aggregator: 'sum' as const },
  );
}

/** `perProcess[i]`: the JSON metrics of process i (undefined if it did not answer: left out). */
export function aggregateSwarmMetrics(perProcess: Array<{ index: number; metrics: MetricJson[] }>, own: MetricJson[] = []): Registry {
  return AggregatorRegistry.aggregate([own, ...perProcess.map((p) => labelGauges(p.metrics, p.index))]);
}

export type { MetricJson };
