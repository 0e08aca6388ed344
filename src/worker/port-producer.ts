/**
 * Producing from a worker thread: messages are serialized here and sent over
 * a MessagePort to the main thread's KafkaProducer (src/main/producer-port.ts),
 * which answers each request once Kafka acknowledged it. The thread creates
 * the channel and sends one end when it announces it has booted.
 */
import type { MessagePort } from 'node:worker_threads';
import { ProduceError, type SerializedError } from '../errors.ts';
import { asList, toWire, type DeliveryReport, type OutgoingMessage, type Producer, type WireMessage } from '../producer/producer.ts';
import type { ProduceReply, ProduceRequest } from '../protocol/produce.ts';
import type { Serializer } from '../producer/serializers.ts';

export class PortProducer implements Producer {
  readonly #port: MessagePort;
  readonly #serializers: Record<string, Serializer>;
  readonly #waiting = new Map<number, { resolve: (r: DeliveryReport[]) => void; reject: (e: unknown) => void }>();
  #next = 1;
  #failures: unknown[] = [];

  constructor(port: MessagePort, serializers: Record<string, Serializer>) {
    this.#port = port;
    this.#serializers = serializers;
    port.on('message', (reply: ProduceReply) => {
      const w = this.#waiting.get(reply.id);
      if (!w) return;
      this.#waiting.delete(reply.id);
      if (reply.error) w.reject(new ProduceError(reply.error.message));
      else w.resolve(reply.reports ?? []);
    });
    // Idle threads must not be kept alive by the port; a request in flight holds a ref.
    port.unref();
  }

  #request(mode: 'sync' | 'async', messages: OutgoingMessage | OutgoingMessage[]): Promise<DeliveryReport[]> {
    let wire: WireMessage[];
    try {
      wire = asList(messages).map((m) => toWire(m, this.#serializers));
    } catch (err) {
      return Promise.reject(err);
    }
    const id = this.#next++;
    const p = new Promise<DeliveryReport[]>((resolve, reject) => this.#waiting.set(id, { resolve, reject }));
    this.#port.ref();
    void p.finally(() => {
      if (this.#waiting.size === 0) this.#port.unref();
    }).catch(() => {});
    this.#port.postMessage({ id, mode, messages: wire } satisfies ProduceRequest);
    return p;
  }

  produceSync(messages: OutgoingMessage | OutgoingMessage[]): Promise<DeliveryReport[]> {
    return this.#request('sync', messages);
  }

  produceAsync(messages: OutgoingMessage | OutgoingMessage[]): Promise<DeliveryReport[]> {
    const p = this.#request('async', messages);
    p.catch((err) => this.#failures.push(err));
    return p;
  }

  async flush(): Promise<void> {
    while (this.#waiting.size > 0) await new Promise((r) => setTimeout(r, 5));
    const failures = this.#failures.splice(0);
    if (failures.length > 0) throw failures[0];
  }

  async disconnect(): Promise<void> {
    await this.flush();
  }
}
