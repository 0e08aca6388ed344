/**
 * Outgoing payload serializers: by name, per topic (`producer.serializers`)
 * or per message. They run on the thread that produces (worker threads
 * serialize their own messages), so only bytes cross threads.
 */
import { ProduceError } from '../errors.ts';

export type SerializerFn = (value: unknown, context: { topic: string }) => Buffer | string | null;
export type SerializerName = 'json' | 'string' | 'raw';
export type Serializer = SerializerName | SerializerFn;

export const serializers: Record<SerializerName, SerializerFn> = {
  /** JSON text; `null`/`undefined` become a tombstone (no value). */
  json: (value) => (value === null || value === undefined ? null : JSON.stringify(value)),
  string: (value) => (value === null || value === undefined ? null : String(value)),
  /** A Buffer, Uint8Array or string as is. */
  raw: (value, { topic }) => {
    if (value === null || value === undefined) return null;
    if (Buffer.isBuffer(value) || typeof value === 'string') return value;
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    throw new ProduceError(`the raw serializer of topic ${topic} takes a Buffer, Uint8Array or string, got ${typeof value}`);
  },
};

export function resolveSerializer(s: Serializer | undefined): SerializerFn {
  if (s === undefined) return serializers.json;
  return typeof s === 'function' ? s : serializers[s];
}
