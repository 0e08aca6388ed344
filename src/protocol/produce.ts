/**
 * The produce channel between a worker thread and the main thread's
 * producer: one request per produce call (messages already serialized on the
 * worker), one reply once Kafka acknowledged them or failed.
 */
import type { SerializedError } from '../errors.ts';
import type { DeliveryReport, WireMessage } from '../producer/producer.ts';

export interface ProduceRequest {
  id: number;
  mode: 'sync' | 'async';
  messages: WireMessage[];
}

export interface ProduceReply {
  id: number;
  reports?: DeliveryReport[];
  error?: SerializedError;
}
