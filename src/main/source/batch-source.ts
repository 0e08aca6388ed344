/**
 * The seam between Kafka and the rest of the main thread: a BatchSource is
 * one consumer group's membership, fetching and committing. It tells its
 * owner (the group, through the sink it is started with) what it fetched and
 * what happens to the group; the owner tells it what to pause, resume, seek
 * and commit. Nothing else on the main thread knows which Kafka client is
 * underneath (kafkajs.ts is the one implementation today).
 */
import type { TopicPartitionOffset } from '../../kafka/types.ts';
import type { FetchedRecords } from '../../protocol/records.ts';

/** The partitions of one group assigned to this process, by topic. */
export type Assignment = Record<string, number[]>;

/** What the source fetched for one partition: a window [startOffset, nextOffset) of its records. */
export interface FetchedBatch {
  topic: string;
  partition: number;
  records: FetchedRecords;
  /** The first offset to deliver: the fetch offset, or the sink's `position` when that is further (already accepted ones are not delivered again). */
  startOffset: number;
  /** The offset after the last one fetched (what to commit once all of it is processed). */
  nextOffset: number;
  /** Records in the fetched record batches (from their headers). */
  messages: number;
  /** Size of the record set as fetched. */
  bytes: number;
}

/** Pausing, resuming and seeking one partition: what the scheduler may ask of the source. */
export interface FetchControl {
  /**
   * `briefly`: the scheduler will resume it by itself soon (its prefetch is full, or it is being
   * rewound), unlike a consumer's own pause, which may last; the source may fetch the partition's
   * broker more eagerly meanwhile, so the resume is not left waiting behind a long poll.
   */
  pause(topic: string, partition: number, briefly?: boolean): void;
  resume(topic: string, partition: number): void;
  /** The next batch of the partition starts at `offset`. */
  seek(topic: string, partition: number, offset: number): void;
}

/** The source's owner: where it reports. Called on the main thread, synchronously. */
export interface SourceSink {
  /** Offsets below the returned one were already accepted for this partition (null: none yet). */
  position(topic: string, partition: number): number | null;
  /** A fetched batch; the source moves its fetch position past it right after. */
  fetched(batch: FetchedBatch): void;
  /** One fetch request round finished. */
  fetchRound(durationMs: number): void;
  /** The group was (re)joined with this assignment. */
  joined(assignment: Assignment, durationMs: number): void;
  /** A rebalance started: the next `joined` says which partitions stay. */
  rebalancing(): void;
  /** The client crashed; `restarting`: it rejoins on its own (else the source is dead). */
  crashed(error: unknown, restarting: boolean): void;
}

export interface BatchSource extends FetchControl {
  /** Connects, subscribes and starts fetching; rejects with a typed error (BROKER_*, SUBSCRIBE_FAILED). */
  start(sink: SourceSink): Promise<void>;
  /** Stops fetching every partition (assigned now or later) without leaving the group. */
  pauseAll(): void;
  /** Commits the offsets; resolves with those Kafka acknowledged (possibly fewer, possibly none). */
  commit(offsets: TopicPartitionOffset[]): Promise<TopicPartitionOffset[]>;
  /** Leaves the group and disconnects. */
  stop(): Promise<void>;
}
