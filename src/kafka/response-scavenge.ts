/**
 * Frees the dead buffers of decoded Fetch responses soon (main thread).
 *
 * Each Fetch response reaches kafkajs as socket chunks, which it joins into
 * one buffer; once Partita has copied the record sets out (raw-fetch.ts),
 * both are garbage: megabytes per response, outside the V8 heap, held by a
 * few small JS objects in the young generation. They are freed only when a
 * scavenge collects those objects, and the fetcher allocates so few JS
 * objects of its own that the young generation fills slowly; V8's other
 * trigger, the growth of external memory, waits for tens of megabytes.
 * Measured as deployed (bench/installed-memory.ts, 3M backlog): on Node 24
 * the main thread held 110–130 MB of array buffers at the peak, ~60 MB with
 * a scavenge per 16 MiB decoded; peak RSS 367–386 MB before, 329–340 after,
 * at the same speed. Node 20 and 22 collect them sooner on their own (no
 * change measured there).
 *
 * So after every RESPONSE_BUDGET bytes of responses decoded, the main thread
 * runs one minor collection (a scavenge: its cost is the live young objects,
 * not the garbage; ~30 for a 3M-message backlog). `gc` is V8's, obtained
 * once from a fresh context with --expose-gc set only for that moment, so no
 * other context (the app's, a worker's) gets a global `gc` (a process started
 * with --expose-gc keeps its own). Where V8 refuses, nothing is collected
 * early and nothing else changes.
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

type GcFunction = (options: { type: 'minor' }) => void;

/** Bytes of dead response buffers (chunks plus the joined copy) after which the main thread scavenges. */
export const RESPONSE_BUDGET = 16 * 1024 * 1024;

let collect: GcFunction | null | undefined;
let owed = 0;
let scheduled = false;
let scavenges = 0;

function collector(): GcFunction | null {
  if (collect !== undefined) return collect;
  // Started with --expose-gc: use it, and leave the flag on for the contexts still to come.
  const global = (globalThis as { gc?: unknown }).gc;
  if (typeof global === 'function') return (collect = global as GcFunction);
  collect = null;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc === 'function') collect = gc as GcFunction;
  } catch {
    // A runtime without the flag or the function: responses are left to V8's own timing.
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
  return collect;
}

/** A decoded response of `bytes` bytes is garbage once its record sets are copied out. */
export function responseDecoded(bytes: number): void {
  // Socket chunks plus kafkajs's joined copy of them.
  owed += 2 * bytes;
  if (owed < RESPONSE_BUDGET || scheduled) return;
  const gc = collector();
  if (!gc) return;
  scheduled = true;
  // After the current turn: kafkajs still holds the response while it reads the decoded result.
  setImmediate(() => {
    scheduled = false;
    owed = 0;
    scavenges += 1;
    gc({ type: 'minor' });
  });
}

/** Scavenges run so far (tests, diagnostics). */
export function responseScavenges(): number {
  return scavenges;
}
