/**
 * A Prometheus histogram that takes an observation with a weight: "n
 * messages took t seconds each". prom-client's Histogram only observes one
 * value at a time, and looping n times per batch would put O(messages) work
 * on the main thread's hot path; this is O(buckets) per batch.
 *
 * It plugs into a prom-client Registry as a custom metric (name/help/type +
 * get()), so the exposition is still written by prom-client.
 */
import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

interface Series {
  labels: Labels;
  buckets: number[];
  sum: number;
  count: number;
}

export class WeightedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly upperBounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** Records `count` observations of `value`. */
  observe(labels: Labels, value: number, count: number): void {
    const key = Object.values(labels).join('\u0000');
    let s = this.#series.get(key);
    if (!s) {
      s = { labels, buckets: new Array<number>(this.upperBounds.length).fill(0), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    // Buckets are stored non-cumulative; get() accumulates.
    let i = 0;
    while (i < this.upperBounds.length && value > this.upperBounds[i]!) i++;
    if (i < this.upperBounds.length) s.buckets[i]! += count;
    s.sum += value * count;
    s.count += count;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: Array<{ value: number; labels: Record<string, string | number>; metricName: string }> } {
    const values: Array<{ value: number; labels: Record<string, string | number>; metricName: string }> = [];
    for (const s of this.#series.values()) {
      let acc = 0;
      this.upperBounds.forEach((le, i) => {
        acc += s.buckets[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le }, value: acc });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
