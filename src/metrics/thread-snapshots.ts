/**
 * The main thread's view of its worker threads' runtime metrics: the latest
 * snapshot each one published on the metrics BroadcastChannel.
 */
import { BroadcastChannel } from 'node:worker_threads';
import type { MetricsSnapshot, ThreadSnapshotMessage } from '../protocol/thread-metrics.ts';

/** Main side: the latest snapshot of each live worker thread. */
export class ThreadSnapshots {
  readonly #channel: BroadcastChannel;
  readonly #latest = new Map<number, MetricsSnapshot>();

  constructor(channelName: string) {
    this.#channel = new BroadcastChannel(channelName);
    this.#channel.onmessage = (event) => {
      const msg = (event as { data?: ThreadSnapshotMessage }).data;
      if (msg?.kind === 'snapshot') this.#latest.set(msg.threadId, msg.metrics);
    };
    (this.#channel as unknown as { unref?: () => void }).unref?.();
  }

  /** A dead thread's series disappear (a replacement reports under its own id). */
  forget(threadId: number): void {
    this.#latest.delete(threadId);
  }

  all(): MetricsSnapshot[] {
    return [...this.#latest.values()];
  }

  close(): void {
    this.#channel.close();
  }
}
