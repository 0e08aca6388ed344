/**
 * Key-level parallelism inside a partition (a topic's `parallel` option):
 * how a batch is split into virtual partitions, and how their outcomes add
 * up to one. Pure functions; the runner runs the parts.
 *
 * - A message goes to virtual partition hash(key) mod max (FNV-1a over the key
 *   bytes, or over the string `by(message)` returns): the same key, the same
 *   virtual partition, in offset order — so per-key order holds while
 *   different keys run concurrently. Null keys share one virtual partition.
 * - The partition is done up to the lowest offset some virtual partition has
 *   not finished (Parallel Consumer's contiguous prefix): that is what may be
 *   committed, and where a failed batch is retried from.
 */
import type { DeserializerFn } from '../messages/deserializers.ts';
import { Messages, type Message } from '../messages/messages.ts';
import { pickRows, type RawBatch } from '../protocol/batch-codec.ts';
import type { ConsumerControl } from '../protocol/tasks.ts';
import { partitionKey } from '../protocol/partition-id.ts';

export interface Parallel {
  by: 'key' | ((message: Message<any>) => string);
  max: number;
}

/** FNV-1a, 32 bits: cheap, and stable across threads, processes and restarts. */
export function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const EMPTY = new Uint8Array(0);

/** The batch's rows by virtual partition (only the non-empty ones, in virtual-partition order). */
export function splitByKey(raw: RawBatch, parallel: Parallel, group: string, deserialize: DeserializerFn, attempt: number): Array<{ vp: number; raw: RawBatch }> {
  const rows = new Map<number, number[]>();
  const add = (vp: number, i: number) => {
    const list = rows.get(vp);
    if (list) list.push(i);
    else rows.set(vp, [i]);
  };
  if (parallel.by === 'key') {
    for (let i = 0; i < raw.offsets.length; i++) add(fnv1a(raw.keys.at(i) ?? EMPTY) % parallel.max, i);
  } else {
    let i = 0;
    for (const m of new Messages(raw, group, deserialize, attempt)) add(fnv1a(Buffer.from(String(parallel.by(m)), 'utf8')) % parallel.max, i++);
  }
  return [...rows.entries()].sort(([a], [b]) => a - b).map(([vp, list]) => ({ vp, raw: list.length === raw.offsets.length ? raw : pickRows(raw, list) }));
}

/** The first offset of `raw` that is not done, given what was marked (null: nothing); undefined when all are. */
export function firstNotDone(raw: RawBatch, marked: number | null): number | undefined {
  if (marked === null) return raw.offsets[0];
  return raw.offsets.find((o) => o >= marked);
}

/** Several virtual partitions asking: the longest pause wins (until resume() over any time), the lowest seek wins. */
export function mergeControl(asked: ConsumerControl[]): ConsumerControl {
  const out: ConsumerControl = {};
  for (const c of asked) {
    if (c.pauseMs !== undefined) out.pauseMs = out.pauseMs === null || c.pauseMs === null ? null : Math.max(out.pauseMs ?? 0, c.pauseMs);
    if (c.seek !== undefined) out.seek = Math.min(out.seek ?? Infinity, c.seek);
  }
  return out;
}

/** An instance's key in the runner: the partition's, plus `#<n>` for virtual partition n. */
export function instanceKey(group: string, topic: string, partition: number, vp: number | null): string {
  const key = partitionKey(group, topic, partition);
  return vp === null ? key : `${key}#${vp}`;
}
