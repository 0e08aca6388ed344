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
import { GATE_RESUME, GATE_REVOKED, GATE_STOPPING, type ConsumerControl } from '../protocol/tasks.ts';
import { InvalidArgumentError } from '../errors.ts';

/** Brand checked instead of `instanceof`, so two copies of the package still agree. */
export const CONSUMER_BRAND: unique symbol = Symbol.for('partita.Consumer');
const kContext = Symbol('partita.consumer.context');

/** What the runtime tells an instance about itself; internal. */
export interface ConsumerContext {
  consumerGroup: string;
  topic: string;
  partition: number;
  /** The virtual partition this instance serves (topics with `parallel`), else null. */
  virtualPartition: number | null;
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
  /** The partition's shared gate (GATE_* slots): revoked flag, resume requests. Null until the first batch. */
  gate: Int32Array | null;
  /** What consume() asked of its partition during the current batch (pause, seek). */
  control: ConsumerControl;
  /** True while a batch runs (pause/seek apply to it; resume() outside it wakes the main thread). */
  inBatch: boolean;
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

  /**
   * On a topic with `parallel`: which virtual partition (0 … max-1) this
   * instance serves — one instance per virtual partition, kept across batches.
   * Null otherwise.
   */
  get virtualPartition(): number | null {
    return this.#ctx().virtualPartition;
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
   * Runs when the partition reached the end of its log (the high watermark)
   * and nothing of it is left to process — only on topics with `eofed: true`.
   * Once per time the end is reached: new records arm it again.
   */
  eofed(): void | Promise<void> {}

  /**
   * False once the partition was revoked from this process (a rebalance gave
   * it to another member): a long consume() checks it to stop early, since
   * what it does next would be redone by the new owner. Read from shared
   * memory, so a synchronous loop sees it too.
   */
  get assigned(): boolean {
    const gate = this.#ctx().gate;
    return gate === null || Atomics.load(gate, GATE_REVOKED) === 0;
  }

  /**
   * True once the process is stopping gracefully (SIGTERM, server.stop()): a
   * long consume() may end early — mark what it finished (markAsConsumed), the
   * rest is delivered again after the restart. It has until shutdownTimeoutMs.
   */
  get stopping(): boolean {
    const gate = this.#ctx().gate;
    return gate !== null && Atomics.load(gate, GATE_STOPPING) === 1;
  }

  /**
   * No more batches for this partition for `ms` milliseconds, or (without
   * `ms`) until resume(); the current batch is not failed, and other
   * partitions keep going. Applied when consume() returns successfully; a
   * seek() in the same batch still happens first.
   */
  pause(ms?: number): void {
    if (ms !== undefined && !(Number.isFinite(ms) && ms >= 0)) throw new InvalidArgumentError(`pause(ms): ms must be a number ≥ 0, got ${String(ms)}`);
    this.#ctx().control.pauseMs = ms ?? null;
  }

  /**
   * Ends a pause: inside consume(), cancels a pause() of the same batch;
   * later (a timer, another callback), wakes the partition on the main
   * thread. A no-op when the partition is not paused.
   */
  resume(): void {
    const ctx = this.#ctx();
    if (ctx.inBatch) delete ctx.control.pauseMs;
    if (ctx.gate) {
      Atomics.add(ctx.gate, GATE_RESUME, 1);
      Atomics.notify(ctx.gate, GATE_RESUME);
    }
  }

  /**
   * The next batch of this partition starts at `offset` (after this one
   * returns): backwards replays (what was committed stays committed); forwards
   * skips, and the skipped offsets count as processed (they are committed).
   */
  seek(offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError(`seek(offset): offset must be a whole number ≥ 0, got ${String(offset)}`);
    this.#ctx().control.seek = offset;
  }

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
   * Returns false (and marks nothing) once the partition is no longer assigned.
   */
  markAsConsumed(message: Message<P>): boolean {
    const ctx = this.#ctx();
    // Another member owns the partition now: only it may commit its offsets.
    if (!this.assigned) return false;
    const next = message.offset + 1;
    if (ctx.marked === null || next > ctx.marked) ctx.marked = next;
    return true;
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
