/**
 * Naming a partition. Maps on both threads are keyed by partition, and keys
 * cross threads (the pool pins by key, and tells which keys a dead thread
 * held): one encoding, decoded in one place. NUL separates the parts because
 * Kafka names (groups, topics) can hold any other printable character.
 */
export interface PartitionId {
  group: string;
  topic: string;
  partition: number;
}

const SEP = '\u0000';

/** The key of a partition of any consumer group. */
export function partitionKey(group: string, topic: string, partition: number): string {
  return `${group}${SEP}${topic}${SEP}${partition}`;
}

/**
 * Where one share of a partition's virtual partitions is pinned (topics with
 * `parallel` spread over several threads): lane 0 is the partition's own key,
 * so a partition without lanes pins as before. `parsePartitionKey` reads the
 * partition back from either.
 */
export function laneKey(key: string, lane: number): string {
  return lane === 0 ? key : `${key}${SEP}${lane}`;
}

/** The partition key of a `laneKey` (itself for a partition key). */
export function laneOwner(key: string): string {
  const parts = key.split(SEP);
  return parts.length > 3 ? parts.slice(0, 3).join(SEP) : key;
}

/** The PartitionId a `partitionKey` (or `laneKey`) was made from. */
export function parsePartitionKey(key: string): PartitionId {
  const [group, topic, partition] = key.split(SEP);
  return { group: group!, topic: topic!, partition: Number(partition) };
}

/** The key of a partition within one consumer group (a group's own maps). */
export function topicPartitionKey(topic: string, partition: number): string {
  return `${topic}${SEP}${partition}`;
}

/** The key of a topic within one consumer group (routes). */
export function routeKey(group: string, topic: string): string {
  return `${group}${SEP}${topic}`;
}

/** `group/topic/partition`, for logs, status and error messages. */
export function describePartition(id: PartitionId): string {
  return `${id.group}/${id.topic}/${id.partition}`;
}
