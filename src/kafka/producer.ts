/**
 * The main thread's producer: one kafkajs producer per process, opened on
 * first use. `produceSync` writes at once; `produceAsync` buffers up to
 * `lingerMs` / `batchSize` and writes with everything else buffered. Worker
 * threads' produce requests arrive here over their ports (serialized on the
 * worker), so a pool of N threads opens one set of broker connections.
 */
import type { Producer as KafkajsProducer } from 'kafkajs';
import { ProduceError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { asList, toWire, type DeliveryReport, type OutgoingMessage, type Producer, type ProducerSettings, type WireMessage } from '../producer/producer.ts';
import type { ResolvedKafkaConfig } from './types.ts';

interface Pending {
  messages: WireMessage[];
  resolve: (r: DeliveryReport[]) => void;
  reject: (e: unknown) => void;
}

/** The real producer: main thread, one kafkajs producer, opened on first use. */
export class KafkaProducer implements Producer {
  readonly #kafka: ResolvedKafkaConfig;
  readonly #settings: ProducerSettings;
  readonly #logger: Logger;
  #producer: Promise<KafkajsProducer> | undefined;
  #buffer: Pending[] = [];
  #buffered = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  #failures: unknown[] = [];

  constructor(kafka: ResolvedKafkaConfig, settings: ProducerSettings, logger: Logger) {
    this.#kafka = kafka;
    this.#settings = settings;
    this.#logger = logger;
  }

  #connect(): Promise<KafkajsProducer> {
    this.#producer ??= (async () => {
      // Loaded on first use: worker threads import this module but never open a producer.
      const { default: kafkajs } = await import('kafkajs');
      const { createKafkaClient } = await import('./client.ts');
      const p = createKafkaClient(this.#kafka, this.#logger).producer({
        createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
        idempotent: this.#settings.idempotent,
        ...(this.#settings.idempotent ? { maxInFlightRequests: 1 } : {}),
      });
      await p.connect();
      return p;
    })();
    this.#producer.catch(() => (this.#producer = undefined));
    return this.#producer;
  }

  produceSync(messages: OutgoingMessage | OutgoingMessage[]): Promise<DeliveryReport[]> {
    return this.#serialized(messages, (wire) => this.sendWire(wire));
  }

  produceAsync(messages: OutgoingMessage | OutgoingMessage[]): Promise<DeliveryReport[]> {
    return this.#serialized(messages, (wire) => this.enqueueWire(wire));
  }

  /** Serializes, then hands over; an invalid message rejects the call (nothing of it is sent). */
  #serialized(messages: OutgoingMessage | OutgoingMessage[], send: (wire: WireMessage[]) => Promise<DeliveryReport[]>): Promise<DeliveryReport[]> {
    try {
      return send(asList(messages).map((m) => toWire(m, this.#settings.serializers)));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Writes now and resolves on acknowledgement. */
  sendWire(messages: WireMessage[]): Promise<DeliveryReport[]> {
    const p = this.#send(messages);
    this.#track(p);
    return p;
  }

  /** Buffers for up to lingerMs / batchSize, then writes with everything else buffered. */
  enqueueWire(messages: WireMessage[]): Promise<DeliveryReport[]> {
    const p = new Promise<DeliveryReport[]>((resolve, reject) => this.#buffer.push({ messages, resolve, reject }));
    this.#buffered += messages.length;
    if (this.#buffered >= this.#settings.batchSize) this.#drain();
    else this.#timer ??= setTimeout(() => this.#drain(), this.#settings.lingerMs);
    // The caller may ignore it: a failure is logged and reported by flush().
    p.catch((err) => {
      this.#failures.push(err);
      this.#logger.error({ err }, 'async produce failed');
    });
    return p;
  }

  #drain(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#buffer;
    this.#buffer = [];
    this.#buffered = 0;
    if (batch.length === 0) return;
    const all = batch.flatMap((b) => b.messages);
    const sent = this.#send(all).then(
      (reports) => {
        for (const b of batch) b.resolve(reports.filter((r) => b.messages.some((m) => m.topic === r.topic)));
      },
      (err) => {
        for (const b of batch) b.reject(err);
      },
    );
    this.#track(sent);
  }

  #track(p: Promise<unknown>): void {
    const t = p.then(
      () => {},
      () => {},
    );
    this.#inFlight.add(t);
    void t.finally(() => this.#inFlight.delete(t));
  }

  async #send(messages: WireMessage[]): Promise<DeliveryReport[]> {
    if (messages.length === 0) return [];
    const byTopic = new Map<string, WireMessage[]>();
    for (const m of messages) {
      const list = byTopic.get(m.topic);
      if (list) list.push(m);
      else byTopic.set(m.topic, [m]);
    }
    try {
      const producer = await this.#connect();
      const meta = await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, ms]) => ({
          topic,
          messages: ms.map((m) => ({
            key: toBuffer(m.key),
            value: toBuffer(m.value),
            ...(m.headers ? { headers: Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, toBuffer(v)!])) } : {}),
            ...(m.partition !== undefined ? { partition: m.partition } : {}),
            ...(m.timestamp !== undefined ? { timestamp: m.timestamp } : {}),
          })),
        })),
      });
      return meta.map((r) => ({ topic: r.topicName, partition: r.partition, baseOffset: String(r.baseOffset ?? r.offset ?? '') }));
    } catch (err) {
      throw new ProduceError(`producing ${messages.length} message(s) to ${[...byTopic.keys()].join(', ')} failed: ${(err as Error)?.message ?? String(err)}`, err);
    }
  }

  async flush(): Promise<void> {
    this.#drain();
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
    const failures = this.#failures.splice(0);
    if (failures.length > 0) throw new ProduceError(`${failures.length} async produce request(s) failed since the last flush; first: ${(failures[0] as Error)?.message}`, failures[0]);
  }

  async disconnect(): Promise<void> {
    try {
      await this.flush();
    } finally {
      const p = this.#producer;
      this.#producer = undefined;
      if (p) await (await p.catch(() => undefined))?.disconnect();
    }
  }
}

function toBuffer(v: Buffer | Uint8Array | string | null | undefined): Buffer | string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || Buffer.isBuffer(v)) return v;
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}
