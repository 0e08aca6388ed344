/**
 * A route's `filter`, applied where the batch runs (its worker thread, or the
 * main thread inline) right after its records are read: messages it rejects
 * never reach a consumer, and their offsets still count as processed (the
 * batch keeps its offset range). Payloads are deserialized lazily, so a
 * filter reading only keys or headers never parses a value.
 */
import type { TopicRoute } from '../config/resolve.ts';
import { resolveDeserializer } from '../messages/deserializers.ts';
import { Message } from '../messages/messages.ts';
import { pickRows, type RawBatch } from '../protocol/batch-codec.ts';

/** The batch without the messages the route's filter rejects, and how many it rejected. */
export function applyFilter(raw: RawBatch, route: TopicRoute): { raw: RawBatch; filtered: number } {
  const filter = route.filter;
  if (!filter) return { raw, filtered: 0 };
  const deserialize = resolveDeserializer(route.deserializer);
  const keep: number[] = [];
  for (let i = 0; i < raw.offsets.length; i++) if (filter(new Message(raw, i, deserialize))) keep.push(i);
  const filtered = raw.offsets.length - keep.length;
  return { raw: filtered === 0 ? raw : pickRows(raw, keep), filtered };
}
