/**
 * The base class users extend. One instance exists per assigned
 * topic-partition, lives on the worker thread the partition is pinned to (or
 * on the main thread for `backend: 'inline'`), and is reused for every batch
 * of that partition until it is revoked or the process shuts down.
 */
import type { Message, Messages } from '../messages/messages.ts';
import { ConsumerDetachedError, ResponderMissingError } from '../errors.ts';
import type { DeliveryReport, OutgoingMessage, Producer } from '../producer/producer.ts';
import type { ResponderClass } from './responder.ts';

/** Brand checked instead of `instanceof`, so two copies of the package still agree. */
export const CONSUMER_BRAND: unique symbol = Symbol.for('partita.Consumer');
const kContext = Symbol('partita.consumer.context');

/** What the runtime tells an instance about itself; internal. */
export interface ConsumerContext {
  consumerGroup: string;
  topic: string;
  partition: number;
  /** 1 for a first delivery; 2+ when the batch is retried after an error. */
  attempt: number;
  /** Next offset to commit from markAsConsumed (highest marked offset + 1). */
  marked: number | null;
  /** Aborts when the batch exceeds its topic's timeoutMs. */
  signal: AbortSignal;
  /** This thread's producer (routes to the main thread's from a worker). */
  producer: Producer;
  responder: ResponderClass | undefined;
  /** Async produce requests of the current batch: acknowledged before its offsets may be committed. */
  pending: Array<Promise<unknown>>;
}

export abstract class Consumer<P = unknown> {
  static readonly [CONSUMER_BRAND] = true;
  [kContext]: ConsumerContext | undefined;

  #ctx(): ConsumerContext {
    const ctx = this[kContext];
    if (!ctx) throw new ConsumerDetachedError();
    return ctx;
  }

  get consumerGroup(): string {
    return this.#ctx().consumerGroup;
  }

  get topic(): string {
    return this.#ctx().topic;
  }

  get partition(): number {
    return this.#ctx().partition;
  }

  /** 1 for a batch's first delivery, 2+ while retrying it after an error. */
  get attempt(): number {
    return this.#ctx().attempt;
  }

  get retrying(): boolean {
    return this.#ctx().attempt > 1;
  }

  /**
   * Aborts when the current batch runs past the topic's `timeoutMs`: pass it to
   * fetch/database calls so a timed-out batch stops its work. Never aborts
   * without a timeout.
   */
  get signal(): AbortSignal {
    return this.#ctx().signal;
  }

  /** Processes one batch (messages of this instance's topic-partition, in offset order). */
  abstract consume(messages: Messages<P>): void | Promise<void>;

  /** Runs once, before the first batch of this partition reaches this instance. */
  initialized(): void | Promise<void> {}

  /** Runs when the partition is taken away (rebalance); the instance is then dropped. */
  revoked(): void | Promise<void> {}

  /** Runs on graceful shutdown, after the last batch; flush buffers here. */
  shutdown(): void | Promise<void> {}

  /**
   * Produces and waits for Kafka's acknowledgement (acks=all). Throws
   * ProduceError on failure, which fails the batch (it is retried).
   */
  produceSync(messages: OutgoingMessage | OutgoingMessage[]): Promise<DeliveryReport[]> {
    return this.#ctx().producer.produceSync(messages);
  }

  /**
   * Produces without waiting: buffered and sent with other messages. The
   * batch's offsets are committed only after these are acknowledged; a
   * failure fails the batch (it is retried, so output may repeat, never be lost).
   */
  produceAsync(messages: OutgoingMessage | OutgoingMessage[]): void {
    const ctx = this.#ctx();
    const p = ctx.producer.produceAsync(messages);
    p.catch(() => {}); // observed by the runner, which fails the batch
    ctx.pending.push(p);
  }

  /**
   * Hands `args` to the route's responder; once its respond() returned and
   * kept its topic contract, sends what it produced (sync topics awaited,
   * async ones acknowledged before the commit). A contract violation throws
   * ResponderError and sends nothing.
   */
  async respondWith(...args: unknown[]): Promise<void> {
    const ctx = this.#ctx();
    if (!ctx.responder) throw new ResponderMissingError(ctx.consumerGroup, ctx.topic);
    const { sync, async } = await new ctx.responder().collect(...args);
    if (async.length > 0) this.produceAsync(async);
    if (sync.length > 0) await ctx.producer.produceSync(sync);
  }

  /**
   * Marks this message (and everything before it) as processed, so its offset
   * can be committed. With `manualOffsets: true` only marked offsets are
   * committed; otherwise a batch is marked as a whole when consume() returns.
   */
  markAsConsumed(message: Message<P>): void {
    const ctx = this.#ctx();
    const next = message.offset + 1;
    if (ctx.marked === null || next > ctx.marked) ctx.marked = next;
  }
}

export type ConsumerClass<P = unknown> = new () => Consumer<P>;

export function isConsumerClass(value: unknown): value is ConsumerClass {
  return typeof value === 'function' && value !== Consumer && (value as unknown as Record<symbol, unknown>)[CONSUMER_BRAND] === true && value.prototype !== undefined;
}

export function attachContext(consumer: Consumer<unknown>, ctx: ConsumerContext): void {
  consumer[kContext] = ctx;
}

export function contextOf(consumer: Consumer<unknown>): ConsumerContext {
  const ctx = consumer[kContext];
  if (!ctx) throw new ConsumerDetachedError();
  return ctx;
}
