import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { WeightedHistogram } from '../../src/metrics/weighted-histogram.ts';

test('a weighted observation lands in one bucket with its count; buckets are cumulative in the exposition', async () => {
  const registry = new Registry();
  const h = new WeightedHistogram('t_seconds', 'test', [0.1, 1], registry);
  h.observe({ topic: 'a' }, 0.05, 10); // 10 messages at 50 ms
  h.observe({ topic: 'a' }, 0.5, 2);
  h.observe({ topic: 'a' }, 5, 1); // above every bound: only +Inf
  const text = await registry.metrics();
  assert.match(text, /# TYPE t_seconds histogram/);
  assert.match(text, /t_seconds_bucket\{topic="a",le="0.1"\} 10\n/);
  assert.match(text, /t_seconds_bucket\{topic="a",le="1"\} 12\n/);
  assert.match(text, /t_seconds_bucket\{topic="a",le="\+Inf"\} 13\n/);
  assert.match(text, /t_seconds_sum\{topic="a"\} 6.5\n/); // 10 × 0.05 + 2 × 0.5 + 5
  assert.match(text, /t_seconds_count\{topic="a"\} 13\n/);
});
