/**
 * Instrumentation: what happens in a running server, as typed events. The
 * stages emit; Prometheus metrics (src/metrics/prometheus.ts), the log lines
 * (log-events.ts) and embedders subscribe. No stage calls metrics or logging
 * of another stage, and a subscriber cannot break processing: a listener that
 * throws is reported once per event name and otherwise ignored.
 *
 * Every event is also published on `node:diagnostics_channel` as
 * `partita:<name>` (only when someone subscribed there), so APM tools can
 * observe every server of the process without a reference to it.
 *
 * Listeners run synchronously on the main thread, on the hot path: keep them
 * cheap (count, enqueue), never block.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { InvalidArgumentError, type SerializedError } from './errors.ts';
import type { TopicPartitionOffset } from './kafka/types.ts';

/** Where a batch ran: a worker thread's id, or `'inline'` (the main thread). */
export type ThreadRef = number | 'inline';

/** Which partition an event is about. */
export interface PartitionEvent {
  group: string;
  topic: string;
  partition: number;
}

/** Why a batch failed, as the metrics count it (bounded, unlike error codes). */
export type FailureReason = 'error' | 'timeout' | 'malformed' | 'corrupt' | 'thread_lost';

export interface PartitaEvents {
  /**
   * A partition's fetched record set was handed to the scheduler. `messages`: the records its
   * record batches hold, from their headers (nothing is decoded on the main thread; a batch
   * that starts below the fetch position counts whole); `bytes`: the record set as fetched (compressed).
   */
  'batch.fetched': PartitionEvent & { messages: number; bytes: number };
  /** consume() finished a batch of `messages`; `filtered`: more dropped by the route's filter; `durationMs` measured on the thread that ran it. */
  'batch.processed': PartitionEvent & { messages: number; filtered: number; durationMs: number; thread: ThreadRef; attempt: number; nextOffset: number };
  /** A batch failed (`thread` absent when its thread died under it). */
  'batch.failed': PartitionEvent & { error: SerializedError; reason: FailureReason; durationMs: number | undefined; thread: ThreadRef | undefined; attempt: number };
  /** The partition is sent back to re-process from `fromOffset` after `delayMs` (`isolating`: one message at a time). */
  'batch.retried': PartitionEvent & { attempt: number; fromOffset: number; delayMs: number; isolating: boolean };
  /** Kafka acknowledged a poison message written to its dead-letter topic; its offset may now be passed. */
  'dead_letter.written': PartitionEvent & { offset: number; deadLetterTopic: string; attempts: number; error: SerializedError };
  /** One fetch request round of the group's source finished. */
  'fetch.completed': { group: string; durationMs: number };
  /** The group started rebalancing: nothing new is started until the assignment is known. */
  'group.rebalancing': { group: string };
  /** The group was (re)joined with this assignment. */
  'group.joined': { group: string; assignment: Record<string, number[]>; durationMs: number };
  /** A partition was assigned to this process (it was not before the join). */
  'partition.assigned': PartitionEvent;
  /** A partition was taken from this process (after its in-flight batch and revoked() hook). */
  'partition.revoked': PartitionEvent;
  /** Fetching of a partition was paused: its queue is full (`prefetch`), it waits to be re-read (`rewind`), or its consumer called this.pause() (`consumer`). */
  'partition.paused': PartitionEvent & { reason: 'prefetch' | 'rewind' | 'consumer' };
  'partition.resumed': PartitionEvent;
  /** Kafka acknowledged these offsets for the group. */
  'offsets.committed': { group: string; offsets: TopicPartitionOffset[] };
  /** A commit failed or was not acknowledged (`unacknowledged`: what stays pending and is sent again). */
  'offsets.commit_failed': { group: string; unacknowledged: TopicPartitionOffset[]; error: unknown };
  /** A worker thread died; `partitions` were pinned to it and restart on a live thread. */
  'worker.lost': { threadId: number; partitions: PartitionEvent[] };
  /** A worker thread failed outside any batch (it is replaced). */
  'worker.error': { error: unknown };
}

export type EventName = keyof PartitaEvents;
export type Listener<E extends EventName> = (payload: PartitaEvents[E]) => void;

/** Every event name, in the order README lists them. */
export const EVENT_NAMES: readonly EventName[] = [
  'batch.fetched',
  'batch.processed',
  'batch.failed',
  'batch.retried',
  'dead_letter.written',
  'fetch.completed',
  'group.rebalancing',
  'group.joined',
  'partition.assigned',
  'partition.revoked',
  'partition.paused',
  'partition.resumed',
  'offsets.committed',
  'offsets.commit_failed',
  'worker.lost',
  'worker.error',
];

const channels = new Map(EVENT_NAMES.map((name) => [name, diagnosticsChannel.channel(`partita:${name}`)]));

export class Instrumentation {
  readonly #listeners = new Map<EventName, Set<Listener<never>>>();
  readonly #reported = new Set<EventName>();
  /** Told when a listener throws (once per event name); the server logs it. */
  onListenerError: (name: EventName, err: unknown) => void = () => {};

  /** Subscribes; returns the function that unsubscribes. */
  on<E extends EventName>(name: E, listener: Listener<E>): () => void {
    if (!channels.has(name)) throw new InvalidArgumentError(`unknown Partita event "${String(name)}"; known: ${EVENT_NAMES.join(', ')}`);
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<E extends EventName>(name: E, payload: PartitaEvents[E]): void {
    const set = this.#listeners.get(name);
    if (set) {
      for (const listener of set) {
        try {
          (listener as Listener<E>)(payload);
        } catch (err) {
          if (!this.#reported.has(name)) {
            this.#reported.add(name);
            this.onListenerError(name, err);
          }
        }
      }
    }
    const channel = channels.get(name)!;
    if (channel.hasSubscribers) channel.publish(payload);
  }
}
