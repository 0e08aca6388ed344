/**
 * The data a scenario consumes: a topic whose partitions all have leaders,
 * and a pre-produced backlog of one fixed payload, so that every contender
 * reads the same messages from the same broker.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { javaProduce } from './java.ts';
import type { BenchContext } from './scenario.ts';

/**
 * Creates the topic and waits until every partition has a leader. Right after
 * the broker started, the request itself can fail with a retriable error
 * (the controller or the metadata not ready yet): that is retried, not fatal.
 */
export async function createTopic(ctx: BenchContext, topic: string, partitions: number, configEntries: Array<{ name: string; value: string }> = []): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ctx.admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries }] });
      break;
    } catch (err) {
      // kafkajs reports per-topic failures inside an aggregate error.
      const all = ((err as { errors?: unknown[] }).errors ?? [err]) as Array<{ retriable?: boolean; type?: string }>;
      if (all.every((e) => e.type === 'TOPIC_ALREADY_EXISTS')) break; // an earlier attempt got through after all
      if (!all.every((e) => e.retriable || e.type === 'TOPIC_ALREADY_EXISTS') || attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  for (let i = 0; ; i++) {
    const md = await ctx.admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
    if (md?.topics[0]?.partitions.length === partitions && md.topics[0].partitions.every((p) => p.leader >= 0)) return;
    if (i > 200) throw new Error(`topic ${topic} has no leaders after 20 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function payloadFile(ctx: BenchContext, name: string, payloads: string[]): string {
  const f = join(ctx.work, `${name}.txt`);
  writeFileSync(f, `${payloads.join('\n')}\n`);
  return f;
}

/**
 * Pre-produces `n` records of `payload` (Java ProducerPerformance; kafkajs batches with
 * --no-java). Several payloads: each record gets one of them (Java: at random; kafkajs: in turn).
 */
export async function produceFixed(ctx: BenchContext, topic: string, n: number, payload: string | string[], partitions = ctx.opts.partitions, javaProps: string[] = []): Promise<void> {
  const t0 = performance.now();
  const payloads = typeof payload === 'string' ? [payload] : payload;
  if (ctx.opts.java) await javaProduce(ctx.brokers, topic, n, payloadFile(ctx, topic, payloads), javaProps);
  else {
    const producer = ctx.kafka.producer();
    await producer.connect();
    const batch = 5000;
    // Round robin, like the Java producer's partitioner above.
    for (let i = 0; i < n; i += batch) await producer.send({ topic, acks: 1, messages: Array.from({ length: Math.min(batch, n - i) }, (_, j) => ({ value: payloads[(i + j) % payloads.length]!, partition: (i + j) % partitions })) });
    await producer.disconnect();
  }
  console.error(`  produced ${n.toLocaleString('en-US')} × ${Buffer.byteLength(payloads[0]!)} B to ${topic} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
