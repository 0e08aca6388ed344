/**
 * Runs batches on persistent consumer instances: one instance per
 * group/topic/partition, created on the first batch, `initialized()` before
 * its first consume, kept until revoke or shutdown. The same code runs inside
 * each worker thread (pool backend) and on the main thread (inline backend),
 * so both backends have the same semantics.
 *
 * Ordering is the caller's job: the scheduler sends a partition's batches one
 * at a time, in offset order.
 */
import { threadId } from 'node:worker_threads';
import type { App } from '../app/app.ts';
import { attachContext, contextOf, type Consumer, type ConsumerContext } from '../consumer.ts';
import { serializeError } from '../errors.ts';
import { resolveDeserializer, type DeserializerFn } from '../messages/deserializers.ts';
import { Messages } from '../messages/messages.ts';
import type { RawBatch } from '../messages/raw-batch.ts';
import type { BatchOutcome, HookOutcome } from './wire.ts';

interface Instance {
  consumer: Consumer<unknown>;
  ctx: ConsumerContext;
  deserialize: DeserializerFn;
  manualOffsets: boolean;
  initialized: boolean;
}

function instanceKey(group: string, topic: string, partition: number): string {
  return `${group}\u0000${topic}\u0000${partition}`;
}

export class PartitionRunner {
  readonly #app: App;
  readonly #instances = new Map<string, Instance>();

  constructor(app: App) {
    this.#app = app;
  }

  get size(): number {
    return this.#instances.size;
  }

  #instance(group: string, topic: string, partition: number): Instance {
    const key = instanceKey(group, topic, partition);
    let inst = this.#instances.get(key);
    if (!inst) {
      const route = this.#app.route(group, topic);
      if (!route) throw new Error(`no route for consumer group "${group}", topic "${topic}" in this thread's boot file`);
      const consumer = new route.consumer();
      const ctx: ConsumerContext = { consumerGroup: group, topic, partition, attempt: 1, marked: null };
      attachContext(consumer, ctx);
      inst = { consumer, ctx, deserialize: resolveDeserializer(route.deserializer), manualOffsets: route.manualOffsets, initialized: false };
      this.#instances.set(key, inst);
    }
    return inst;
  }

  async runBatch(group: string, raw: RawBatch, attempt: number, nextOffset: number): Promise<BatchOutcome> {
    const started = performance.now();
    const inst = this.#instance(group, raw.topic, raw.partition);
    inst.ctx.attempt = attempt;
    inst.ctx.marked = null;
    try {
      if (!inst.initialized) {
        await inst.consumer.initialized();
        inst.initialized = true;
      }
      await inst.consumer.consume(new Messages(raw, group, inst.deserialize, attempt));
      const commitOffset = inst.manualOffsets ? inst.ctx.marked : nextOffset;
      return { threadId, commitOffset, durationMs: performance.now() - started };
    } catch (err) {
      return { threadId, commitOffset: inst.ctx.marked, error: serializeError(err), durationMs: performance.now() - started };
    }
  }

  /** Runs revoked() and drops the instance (a later assignment gets a fresh one). */
  async revoke(group: string, topic: string, partition: number): Promise<HookOutcome> {
    const key = instanceKey(group, topic, partition);
    const inst = this.#instances.get(key);
    const out: HookOutcome = { threadId, commits: [], errors: [] };
    if (!inst) return out;
    this.#instances.delete(key);
    await this.#hook(inst, 'revoked', out);
    return out;
  }

  /** Runs shutdown() on every instance (in parallel) and drops them all. */
  async shutdown(): Promise<HookOutcome> {
    const out: HookOutcome = { threadId, commits: [], errors: [] };
    const all = [...this.#instances.values()];
    this.#instances.clear();
    await Promise.all(all.map((inst) => this.#hook(inst, 'shutdown', out)));
    return out;
  }

  async #hook(inst: Instance, hook: 'revoked' | 'shutdown', out: HookOutcome): Promise<void> {
    const { consumerGroup: group, topic, partition } = contextOf(inst.consumer);
    inst.ctx.marked = null;
    try {
      // An instance that never got a batch was never initialized: nothing to tear down.
      if (inst.initialized) await inst.consumer[hook]();
    } catch (err) {
      out.errors.push({ group, topic, partition, error: serializeError(err) });
    }
    if (inst.ctx.marked !== null) out.commits.push({ group, topic, partition, offset: inst.ctx.marked });
  }
}
