/**
 * `Message` (one record, lazy payload) and `Messages` (one topic-partition
 * batch). Both are views over a RawBatch: nothing is deserialized until a
 * consumer reads `message.payload`, so a consumer can skip a malformed record
 * by key or offset without ever parsing it.
 */
import { PayloadError } from '../errors.ts';
import type { DeserializerFn } from './deserializers.ts';
import type { Headers, RawBatch } from '../protocol/batch-codec.ts';

const UNREAD = Symbol('unread');

export class Message<P = unknown> {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offset (exact below 2^53, i.e. always in practice). */
  readonly offset: number;
  /** Producer or broker timestamp, ms since epoch. */
  readonly timestamp: number;
  readonly #batch: RawBatch;
  readonly #index: number;
  readonly #deserialize: DeserializerFn;
  // Views on the fetched bytes, made on first read (most consumers never read keys or headers).
  #key: Buffer | null | typeof UNREAD = UNREAD;
  #rawPayload: Buffer | null | typeof UNREAD = UNREAD;
  #rawHeaders: Headers | null | typeof UNREAD = UNREAD;
  #payload: unknown = UNREAD;
  #error: PayloadError | undefined;

  constructor(batch: RawBatch, index: number, deserialize: DeserializerFn) {
    this.topic = batch.topic;
    this.partition = batch.partition;
    this.offset = batch.offsets[index]!;
    this.timestamp = batch.timestamps[index]!;
    this.#batch = batch;
    this.#index = index;
    this.#deserialize = deserialize;
  }

  /** The key bytes (null when there is no key). */
  get key(): Buffer | null {
    if (this.#key === UNREAD) this.#key = this.#batch.keys.at(this.#index) ?? null;
    return this.#key;
  }

  /** The undecoded value bytes (null for a tombstone). */
  get rawPayload(): Buffer | null {
    if (this.#rawPayload === UNREAD) this.#rawPayload = this.#batch.values.at(this.#index) ?? null;
    return this.#rawPayload;
  }

  #headerMap(): Headers | null {
    if (this.#rawHeaders === UNREAD) this.#rawHeaders = this.#batch.headers.at(this.#index) ?? null;
    return this.#rawHeaders;
  }

  /** Deserialized on first read and cached; a malformed payload throws PayloadError (every read). */
  get payload(): P {
    if (this.#payload === UNREAD && this.#error === undefined) {
      try {
        this.#payload = this.#deserialize(this.rawPayload, this);
      } catch (err) {
        this.#error = new PayloadError(this.topic, this.partition, this.offset, err);
      }
    }
    if (this.#error) throw this.#error;
    return this.#payload as P;
  }

  /** The key as UTF-8 text (null when there is no key). */
  get keyString(): string | null {
    return this.key === null ? null : this.key.toString('utf8');
  }

  /** Header values as Buffers (kafkajs gives Buffer; an array when a name repeats). */
  get headers(): Record<string, Buffer | Buffer[]> {
    const out: Record<string, Buffer | Buffer[]> = {};
    const raw = this.#headerMap();
    if (!raw) return out;
    for (const [name, v] of Object.entries(raw)) {
      if (v === undefined) continue;
      out[name] = Array.isArray(v) ? v.map(toBuffer) : toBuffer(v);
    }
    return out;
  }

  /** One header as text (the first value if repeated), or undefined. */
  header(name: string): string | undefined {
    const v = this.#headerMap()?.[name];
    if (v === undefined) return undefined;
    const first = Array.isArray(v) ? v[0] : v;
    return first === undefined ? undefined : toBuffer(first).toString('utf8');
  }
}

function toBuffer(v: Buffer | Uint8Array | string): Buffer {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export interface BatchMetadata {
  topic: string;
  partition: number;
  consumerGroup: string;
  firstOffset: number;
  lastOffset: number;
  /** Number of messages in the batch. */
  size: number;
  /** Partition high watermark when the batch was fetched. */
  highWatermark: number;
  /** Messages still behind this batch in the partition when it was fetched. */
  offsetLag: number;
  /** Timestamp of the first message. */
  createdAt: Date;
  /** When consume() received the batch. */
  processedAt: Date;
  /** processedAt − timestamp of the last message, in ms: how far behind real time processing runs. */
  consumptionLagMs: number;
  /** Which attempt this is (1 = first delivery, 2+ = retry after an error). */
  attempt: number;
}

export class Messages<P = unknown> implements Iterable<Message<P>> {
  readonly metadata: BatchMetadata;
  readonly #batch: RawBatch;
  readonly #deserialize: DeserializerFn;
  #messages: Array<Message<P>> | undefined;

  constructor(batch: RawBatch, consumerGroup: string, deserialize: DeserializerFn, attempt = 1) {
    this.#batch = batch;
    this.#deserialize = deserialize;
    const n = batch.offsets.length;
    const processedAt = new Date();
    const lastOffset = n > 0 ? batch.offsets[n - 1]! : -1;
    this.metadata = Object.freeze({
      topic: batch.topic,
      partition: batch.partition,
      consumerGroup,
      firstOffset: n > 0 ? batch.offsets[0]! : -1,
      lastOffset,
      size: n,
      highWatermark: batch.highWatermark,
      offsetLag: Math.max(0, batch.highWatermark - lastOffset - 1),
      createdAt: new Date(n > 0 ? batch.timestamps[0]! : processedAt.getTime()),
      processedAt,
      consumptionLagMs: n > 0 ? Math.max(0, processedAt.getTime() - batch.timestamps[n - 1]!) : 0,
      attempt,
    });
  }

  get length(): number {
    return this.#batch.offsets.length;
  }

  /** Message objects are built on first access, then reused. */
  toArray(): Array<Message<P>> {
    if (!this.#messages) {
      const n = this.#batch.offsets.length;
      const list = new Array<Message<P>>(n);
      for (let i = 0; i < n; i++) list[i] = new Message<P>(this.#batch, i, this.#deserialize);
      this.#messages = list;
    }
    return this.#messages;
  }

  [Symbol.iterator](): Iterator<Message<P>> {
    return this.toArray()[Symbol.iterator]();
  }

  at(index: number): Message<P> | undefined {
    return this.toArray().at(index);
  }

  first(): Message<P> | undefined {
    return this.at(0);
  }

  last(): Message<P> | undefined {
    return this.at(-1);
  }

  /** Every payload, deserialized (throws PayloadError at the first malformed one). */
  payloads(): P[] {
    return this.toArray().map((m) => m.payload);
  }
}
