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
import type { ConsumerControl, Lane } from '../protocol/tasks.ts';
import { partitionKey } from '../protocol/partition-id.ts';

export interface Parallel {
  by: 'key' | ((message: Message<any>) => string);
  max: number;
  /** 'consistent' (default): a key always goes to hash(key) mod max. 'balanced': each batch's keys are spread evenly over the virtual partitions. */
  distribution?: 'consistent' | 'balanced';
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

/** fnv1a over the string's UTF-8 bytes, without allocating them when it is ASCII. */
export function fnv1aString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return fnv1a(Buffer.from(s, 'utf8'));
    h ^= c;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const EMPTY = new Uint8Array(0);

/**
 * The batch's rows by virtual partition (only the non-empty ones, in virtual-partition order).
 * Rows are first grouped by the 32-bit hash of their key (a key's rows, in offset order, are one
 * group; keys whose hashes collide share it); then each group goes to hash mod max (consistent), or,
 * balanced, largest group first to the virtual partition with the fewest rows so far.
 */
export function splitByKey(raw: RawBatch, parallel: Parallel, group: string, deserialize: DeserializerFn, attempt: number): Array<{ vp: number; raw: RawBatch }> {
  const n = raw.offsets.length;
  const hashes = new Uint32Array(n);
  if (parallel.by === 'key') {
    for (let i = 0; i < n; i++) hashes[i] = fnv1a(raw.keys.at(i) ?? EMPTY);
  } else {
    let i = 0;
    for (const m of new Messages(raw, group, deserialize, attempt)) hashes[i++] = fnv1aString(String(parallel.by(m)));
  }
  const vpOf = parallel.distribution === 'balanced' ? balanced(hashes, parallel.max) : (h: number) => h % parallel.max;
  const rows = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const vp = vpOf(hashes[i]!);
    const list = rows.get(vp);
    if (list) list.push(i);
    else rows.set(vp, [i]);
  }
  return [...rows.entries()].sort(([a], [b]) => a - b).map(([vp, list]) => ({ vp, raw: list.length === n ? raw : pickRows(raw, list) }));
}

/** Longest-processing-time-first: the key groups by size (ties: first seen first), each to the least loaded virtual partition. */
function balanced(hashes: Uint32Array, max: number): (h: number) => number {
  const sizes = new Map<number, number>();
  for (const h of hashes) sizes.set(h, (sizes.get(h) ?? 0) + 1);
  const groups = [...sizes.entries()].sort((a, b) => b[1] - a[1]); // stable: equal sizes keep first-seen order
  const load = new Array<number>(Math.min(max, groups.length)).fill(0);
  const assigned = new Map<number, number>();
  for (const [h, size] of groups) {
    let least = 0;
    for (let vp = 1; vp < load.length; vp++) if (load[vp]! < load[least]!) least = vp;
    load[least]! += size;
    assigned.set(h, least);
  }
  return (h) => assigned.get(h)!;
}

/**
 * A digest of a split (each row's offset and virtual partition, in order):
 * lanes of one batch compare it to prove they split it alike.
 */
export function splitDigest(parts: ReadonlyArray<{ vp: number | null; raw: RawBatch }>): number {
  let h = 0x811c9dc5;
  for (const { vp, raw } of parts) {
    h = Math.imul(h ^ ((vp ?? -1) + 1), 0x01000193);
    for (const o of raw.offsets) h = Math.imul(h ^ (o % 0x7fffffff), 0x01000193);
  }
  return h >>> 0;
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

/** Whether virtual partition `vp` runs on `lane` (lane n holds vp mod count = n). */
export function inLane(vp: number, lane: Lane): boolean {
  return vp % lane.count === lane.index;
}

/**
 * The commit of a batch that passed, given what its consumers asked: a seek back
 * into (or before) it means what comes from there was not processed, so it is not committed.
 */
export function capAtSeek(commitOffset: number | null, control: ConsumerControl): number | null {
  return control.seek !== undefined && commitOffset !== null && control.seek < commitOffset ? control.seek : commitOffset;
}

/** An instance's key in the runner: the partition's, plus `#<n>` for virtual partition n. */
export function instanceKey(group: string, topic: string, partition: number, vp: number | null): string {
  const key = partitionKey(group, topic, partition);
  return vp === null ? key : `${key}#${vp}`;
}
