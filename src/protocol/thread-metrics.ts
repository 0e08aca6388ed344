/**
 * What a worker thread publishes about itself on the metrics
 * BroadcastChannel: a JSON snapshot of its Prometheus registry.
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];



export interface ThreadSnapshotMessage {
  kind: 'snapshot';
  threadId: number;
  metrics: MetricsSnapshot;
}
