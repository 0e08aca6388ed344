/**
 * Testing a consumer without a broker (`testConsumer` in partita/testing):
 * the route's consumer runs in-process, on the same PartitionRunner the
 * worker threads use — one persistent instance, initialized() before its
 * first batch, the route's deserializer, filter, timeoutMs and manualOffsets,
 * responders with their topic contracts — while what it produces is recorded
 * instead of sent. No Kafka, no threads: a test runs in milliseconds.
 */
import type { App } from '../app/app.ts';
import type { Consumer } from '../consumer/consumer.ts';
import { ConsumerError, InvalidArgumentError, type SerializedError } from '../errors.ts';
import { emptyRawBatch, type Headers } from '../protocol/batch-codec.ts';
import { asList, toWire, type DeliveryReport, type OutgoingMessage, type Producer, type WireMessage } from '../producer/producer.ts';
import { PartitionRunner } from '../runner/partition-runner.ts';

/** A message fed to the consumer, as a producer would have written it. */
export interface TestMessage {
  /** The value as JSON (what Partita's default serializer writes); use `value` for other encodings. */
  payload?: unknown;
  /** The value's bytes (a string is UTF-8); they go through the route's deserializer. `null`: a tombstone. */
  value?: Buffer | Uint8Array | string | null;
  key?: Buffer | string | null;
  headers?: Record<string, string | Buffer>;
  /** Default: the offset after the previous message fed (0 first). Offsets must increase. */
  offset?: number;
  /** Default: now. */
  timestamp?: number | Date;
}

/** A message the consumer (or its responder) produced. */
export interface ProducedMessage {
  topic: string;
  /** The partition it asked for, if any. */
  partition: number | undefined;
  key: string | null;
  /** The serialized value as UTF-8 (null for a tombstone). */
  value: string | null;
  /** The serialized bytes, as Kafka would get them. */
  bytes: { key: Buffer | null; value: Buffer | null };
  headers: Record<string, string>;
  /** produceSync (or a sync responder topic) vs produceAsync. */
  sync: boolean;
  /** The value parsed as JSON (throws if it is not JSON). */
  readonly payload: unknown;
}

export interface ConsumeReport {
  /** Messages consume() got (after the route's filter), and messages the filter dropped. */
  messages: number;
  filtered: number;
  /** What the runtime would commit after this batch: the next offset to read, or null (nothing new, e.g. manualOffsets without a mark). */
  commitOffset: number | null;
  /** What consume() asked of its partition: `pauseMs` (null: until resume()) and `seek`. */
  control?: { pauseMs?: number | null; seek?: number };
}

export interface TestConsumerOptions {
  /** The consumer group whose route to run; needed only when several groups route the topic. */
  group?: string;
  /** @default 0 */
  partition?: number;
}

const toBuffer = (v: Buffer | Uint8Array | string): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));

/** A producer that keeps what it is given (serialized as the real one would) and acknowledges at once. */
class RecordingProducer implements Producer {
  readonly #serializers;
  readonly #sink: ProducedMessage[];
  readonly #next = new Map<string, number>();

  constructor(app: App, sink: ProducedMessage[]) {
    this.#serializers = app.config.producer.serializers;
    this.#sink = sink;
  }

  #record(messages: OutgoingMessage | OutgoingMessage[], sync: boolean): Promise<DeliveryReport[]> {
    try {
      // Serialized first, all of them: an invalid message fails the call and records nothing, as with Kafka.
      const wires = asList(messages).map((m) => toWire(m, this.#serializers));
      return Promise.resolve(wires.map((w) => this.#keep(w, sync)));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new InvalidArgumentError(String(err)));
    }
  }

  #keep(w: WireMessage, sync: boolean): DeliveryReport {
    const key = w.key === null ? null : toBuffer(w.key);
    const value = w.value === null ? null : toBuffer(w.value);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(w.headers ?? {})) headers[k] = typeof v === 'string' ? v : toBuffer(v).toString('utf8');
    const text = value?.toString('utf8') ?? null;
    this.#sink.push({
      topic: w.topic,
      partition: w.partition,
      key: key?.toString('utf8') ?? null,
      value: text,
      bytes: { key, value },
      headers,
      sync,
      get payload() {
        return text === null ? null : JSON.parse(text);
      },
    });
    const tp = `${w.topic}/${w.partition ?? 0}`;
    const offset = this.#next.get(tp) ?? 0;
    this.#next.set(tp, offset + 1);
    return { topic: w.topic, partition: w.partition ?? 0, baseOffset: String(offset) };
  }

  produceSync(messages: OutgoingMessage | OutgoingMessage[]): Promise<DeliveryReport[]> {
    return this.#record(messages, true);
  }

  produceAsync(messages: OutgoingMessage | OutgoingMessage[]): Promise<DeliveryReport[]> {
    return this.#record(messages, false);
  }

  async flush(): Promise<void> {}

  async disconnect(): Promise<void> {}
}

/** An error known only in its serialized form (the runner normally hands over the one thrown). */
function rebuild(e: SerializedError): Error {
  return new ConsumerError(e.message, e.name, e.stack, e.code);
}

export class ConsumerTest<C extends Consumer<any> = Consumer<any>> {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  /** Everything produced so far, in order (consume(), responders and hooks). */
  readonly produced: ProducedMessage[] = [];
  readonly #runner: PartitionRunner;
  #nextOffset = 0;
  #committed: number | null = null;
  #thrown: unknown;

  constructor(app: App, topic: string, options: TestConsumerOptions = {}) {
    const routing = app.consumerGroups.filter((g) => g.topics.some((t) => t.topic === topic)).map((g) => g.name);
    if (options.group !== undefined && !routing.includes(options.group)) {
      throw new InvalidArgumentError(`testConsumer: consumer group "${options.group}" does not route topic "${topic}"${routing.length ? ` (routed by: ${routing.join(', ')})` : ''}`);
    }
    if (options.group === undefined && routing.length !== 1) {
      throw new InvalidArgumentError(
        routing.length === 0 ? `testConsumer: no consumer group routes topic "${topic}"` : `testConsumer: topic "${topic}" is routed by several consumer groups (${routing.join(', ')}): pass { group }`,
      );
    }
    this.group = options.group ?? routing[0]!;
    this.topic = topic;
    this.partition = options.partition ?? 0;
    this.#runner = new PartitionRunner(app, { producer: new RecordingProducer(app, this.produced), onError: (err) => (this.#thrown = err) });
  }

  /** The partition's persistent instance (created by the first consume()). */
  get consumer(): C {
    const c = this.#runner.consumerOf(this.group, this.topic, this.partition);
    if (!c) throw new InvalidArgumentError(`testConsumer(${this.topic}): the consumer instance is created by the first consume()`);
    return c as C;
  }

  /** The offset the runtime would have committed so far (batches and hooks), or null. */
  get committedOffset(): number | null {
    return this.#committed;
  }

  /** What was produced to `topic`. */
  producedTo(topic: string): ProducedMessage[] {
    return this.produced.filter((m) => m.topic === topic);
  }

  /**
   * Runs consume() once with `messages` as one batch (after initialized(), the
   * first time). Rejects with the error the batch failed with — consume()'s
   * own, a PAYLOAD_INVALID from the deserializer, JOB_TIMEOUT, a
   * RESPONDER_CONTRACT violation — as the runtime would before retrying it.
   * `attempt`: what `this.attempt` says (2+ simulates a retry).
   */
  async consume(messages: TestMessage | TestMessage[], options: { attempt?: number } = {}): Promise<ConsumeReport> {
    const list = asList(messages);
    if (list.length === 0) throw new InvalidArgumentError('testConsumer.consume: give at least one message');
    const batch = emptyRawBatch(this.topic, this.partition, 0);
    for (const m of list) {
      const offset = m.offset ?? this.#nextOffset;
      if (!Number.isSafeInteger(offset) || offset < this.#nextOffset) {
        throw new InvalidArgumentError(`testConsumer.consume: offset ${offset} must be a whole number ≥ ${this.#nextOffset} (offsets increase, within a batch and across batches)`);
      }
      this.#nextOffset = offset + 1;
      const value = m.value !== undefined ? (m.value === null ? null : toBuffer(m.value)) : m.payload === undefined ? null : Buffer.from(JSON.stringify(m.payload), 'utf8');
      const headers: Headers | null = m.headers && Object.keys(m.headers).length > 0 ? (m.headers as Headers) : null;
      batch.offsets.push(offset);
      batch.timestamps.push(m.timestamp === undefined ? Date.now() : Number(m.timestamp));
      batch.keys.push(m.key === undefined || m.key === null ? null : toBuffer(m.key));
      batch.values.push(value);
      batch.headers.push(headers);
    }
    batch.highWatermark = this.#nextOffset;
    const from = batch.offsets[0]!;
    this.#thrown = undefined;
    const out = await this.#runner.runBatch(this.group, this.topic, this.partition, { kind: 'decoded', raw: batch }, { from, to: this.#nextOffset, max: list.length, skip: [] }, options.attempt ?? 1);
    if (out.commitOffset !== null) this.#committed = Math.max(this.#committed ?? 0, out.commitOffset);
    if (out.error) throw this.#thrown instanceof Error ? this.#thrown : rebuild(out.error);
    return { messages: out.messages ?? 0, filtered: out.filtered ?? 0, commitOffset: out.commitOffset, ...(out.control ? { control: out.control } : {}) };
  }

  /** Runs revoked() (the partition was taken away) and drops the instance; the next consume() gets a fresh one. */
  async revoke(): Promise<void> {
    this.#thrown = undefined;
    this.#hookResult(await this.#runner.revoke(this.group, this.topic, this.partition));
  }

  /** Runs shutdown() (graceful stop) and drops the instance. */
  async shutdown(): Promise<void> {
    this.#thrown = undefined;
    this.#hookResult(await this.#runner.shutdown());
  }

  /** Runs eofed() (the partition reached the end of its log; topics with `eofed: true`). */
  async eofed(): Promise<void> {
    this.#thrown = undefined;
    this.#hookResult(await this.#runner.eofed(this.group, this.topic, this.partition));
  }

  #hookResult(out: { commits: Array<{ offset: number }>; errors: Array<{ error: SerializedError }> }): void {
    for (const c of out.commits) this.#committed = Math.max(this.#committed ?? 0, c.offset);
    const failed = out.errors[0];
    if (failed) throw this.#thrown instanceof Error ? this.#thrown : rebuild(failed.error);
  }
}

/**
 * A consumer of `app`'s route for `topic`, run without a broker:
 * `const t = testConsumer(app, 'users'); await t.consume([{ payload: { id: 1 } }]); t.producedTo('users_created')`.
 */
export function testConsumer<C extends Consumer<any> = Consumer<any>>(app: App, topic: string, options?: TestConsumerOptions): ConsumerTest<C> {
  return new ConsumerTest<C>(app, topic, options);
}

