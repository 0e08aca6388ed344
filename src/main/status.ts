/**
 * What a running server reports about itself (`/status`, `/health`): plain
 * data, built on demand from the stages that own it.
 */
import type { PoolHealth } from './dispatch/worker-pool.ts';
import type { PartitionStatus } from './scheduler/scheduler.ts';

export type { PartitionStatus, PoolHealth };

export interface GroupStatus {
  name: string;
  joined: boolean;
  /** Partitions assigned to this process, by topic. */
  assignment: Record<string, number[]>;
  /** Partitions this process has fetched from, with their state and lag. */
  partitions: Array<PartitionStatus & { lag: number | undefined; logEndOffset: number | undefined }>;
}

export interface HealthReport {
  healthy: boolean;
  /** Why not, in words (empty when healthy). */
  problems: string[];
  state: string;
  pool?: PoolHealth;
  /**
   * Partitions stuck on records that fail to read (BATCH_CORRUPT), in words. They do not make
   * the process unhealthy: a restart would not heal them (Kafka serves the same bytes), and a
   * liveness probe failing on them would only add a crash loop. Metrics: reason="corrupt".
   */
  warnings: string[];
}

export interface ServerStatus {
  /** The server process's id (tells the processes of a swarm apart). */
  pid: number;
  /** Since the server was created. */
  uptimeMs: number;
  groups: GroupStatus[];
  /** Messages processed successfully since start, all groups. */
  processedMessages: number;
  /** Batches whose consume() failed (errors, timeouts, malformed payloads, lost threads) since start. */
  failedBatches: number;
  /** Times a partition was sent back to re-process after a failure since start. */
  retries: number;
  /** Messages moved to dead-letter topics since start. */
  deadLettered: number;
  /** Worker threads that died and were replaced since start. */
  threadsLost: number;
  /** Partitions pinned to each worker thread (`group/topic/partition`). */
  threads: Record<number, string[]>;
  /** Worker pool health (absent without pool routes). */
  pool?: PoolHealth;
}
