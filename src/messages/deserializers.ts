/**
 * Payload deserializers. A route picks one by name or passes a function.
 * They run lazily, on the first read of `message.payload`.
 */
export interface DeserializeContext {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
}

export type DeserializerFn<P = unknown> = (raw: Buffer | null, context: DeserializeContext) => P;
export type DeserializerName = 'json' | 'string' | 'raw';
export type Deserializer = DeserializerName | DeserializerFn;

export const deserializers: Record<DeserializerName, DeserializerFn> = {
  /** JSON; a tombstone (null value) reads as null. */
  json: (raw) => (raw === null ? null : JSON.parse(raw.toString('utf8'))),
  string: (raw) => (raw === null ? null : raw.toString('utf8')),
  raw: (raw) => raw,
};

export function resolveDeserializer(d: Deserializer | undefined): DeserializerFn {
  if (d === undefined) return deserializers.json;
  return typeof d === 'function' ? d : deserializers[d];
}
