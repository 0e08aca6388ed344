/**
 * Producing. `Producer` is what users call (`app.producer`, and through
 * `this.produceSync/Async` inside consumers); messages are serialized where
 * they are produced, then written by one kafkajs producer on the main thread
 * (src/kafka/producer.ts). Worker threads reach it over a MessagePort (src/worker/port-producer.ts),
 * so a pool of N threads still opens one set of broker connections.
 *
 * - produceSync resolves once Kafka acknowledged every message (acks=all).
 * - produceAsync buffers: messages wait up to `lingerMs` (or until
 *   `batchSize` are buffered) and go out in one request; the returned promise
 *   resolves on acknowledgement and may be ignored (failures are logged and
 *   make the next flush() reject).
 */
import { ProduceError } from '../errors.ts';
import { resolveSerializer, type Serializer } from './serializers.ts';

export interface OutgoingMessage {
  topic: string;
  /** Serialized with the message's `serializer`, else the topic's, else JSON. */
  value?: unknown;
  key?: string | Buffer | null;
  headers?: Record<string, string | Buffer>;
  /** Target partition (default: kafkajs's partitioner, by key). */
  partition?: number;
  /** Milliseconds since epoch (default: now). */
  timestamp?: number;
  serializer?: Serializer;
}

/** A serialized message: what crosses from a worker thread to the main thread. */
export interface WireMessage {
  topic: string;
  value: Buffer | Uint8Array | string | null;
  key: Buffer | Uint8Array | string | null;
  headers?: Record<string, string | Buffer | Uint8Array>;
  partition?: number;
  timestamp?: string;
}

export interface DeliveryReport {
  topic: string;
  partition: number;
  /** Offset of the first message written to that partition by the request. */
  baseOffset: string;
}

export interface Producer {
  /** Resolves after Kafka acknowledged every message. */
  produceSync(messages: OutgoingMessage | OutgoingMessage[]): Promise<DeliveryReport[]>;
  /** Buffers; the promise resolves on acknowledgement (awaiting it is optional). */
  produceAsync(messages: OutgoingMessage | OutgoingMessage[]): Promise<DeliveryReport[]>;
  /** Waits until everything buffered is acknowledged; rejects if an async write failed since the last flush. */
  flush(): Promise<void>;
  /** Flushes and closes the connection (main thread); a no-op elsewhere. */
  disconnect(): Promise<void>;
}

export interface ProducerSettings {
  idempotent: boolean;
  lingerMs: number;
  batchSize: number;
  serializers: Record<string, Serializer>;
}

export function toWire(m: OutgoingMessage, topicSerializers: Record<string, Serializer>): WireMessage {
  if (typeof m?.topic !== 'string' || m.topic.length === 0) throw new ProduceError('every message needs a topic (a non-empty string)');
  const serialize = resolveSerializer(m.serializer ?? topicSerializers[m.topic]);
  const wire: WireMessage = { topic: m.topic, value: serialize(m.value, { topic: m.topic }), key: m.key ?? null };
  if (m.headers) wire.headers = m.headers;
  if (m.partition !== undefined) wire.partition = m.partition;
  if (m.timestamp !== undefined) wire.timestamp = String(m.timestamp);
  return wire;
}

export function asList<T>(x: T | T[]): T[] {
  return Array.isArray(x) ? x : [x];
}
