/**
 * The main thread's end of a worker thread's produce channel: requests are
 * written with the process's one KafkaProducer and answered on the same port.
 */
import type { MessagePort } from 'node:worker_threads';
import type { SerializedError } from '../errors.ts';
import type { DeliveryReport, WireMessage } from '../producer/producer.ts';
import type { ProduceReply, ProduceRequest } from '../protocol/produce.ts';

/** Main side: answers one worker thread's produce requests with the shared KafkaProducer. */
export function serveProducePort(port: MessagePort, producer: { sendWire(m: WireMessage[]): Promise<DeliveryReport[]>; enqueueWire(m: WireMessage[]): Promise<DeliveryReport[]> }, serialize: (err: unknown) => SerializedError): void {
  port.on('message', (req: ProduceRequest) => {
    const done = req.mode === 'sync' ? producer.sendWire(req.messages) : producer.enqueueWire(req.messages);
    done.then(
      (reports) => port.postMessage({ id: req.id, reports } satisfies ProduceReply),
      (err) => port.postMessage({ id: req.id, error: serialize(err) } satisfies ProduceReply),
    );
  });
  port.unref();
}
