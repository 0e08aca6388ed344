/**
 * What a node is told at start-up: its server.properties (one combined
 * broker+controller of a KRaft cluster on 127.0.0.1, optionally with SASL
 * PLAIN clients) and the cluster id its storage is formatted with.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { nodeDir, ports } from './layout.ts';

/** The client settings of the first SASL user (the brokers' own identity), for kafkajs. */
export function saslClient(users: Record<string, string> | undefined): { mechanism: 'plain'; username: string; password: string } | undefined {
  const first = Object.entries(users ?? {})[0];
  return first && { mechanism: 'plain', username: first[0], password: first[1] };
}

export function nodeProperties(dir: string, index: number, nodes: number, port: number, saslPlainUsers?: Record<string, string>): string {
  const p = ports(port, nodes);
  const voters = p.controller.map((c, i) => `${i + 1}@127.0.0.1:${c}`).join(',');
  const rf = Math.min(3, nodes);
  const client = saslPlainUsers ? 'SASL_PLAINTEXT' : 'PLAINTEXT';
  const self = saslClient(saslPlainUsers);
  const users = Object.entries(saslPlainUsers ?? {}).map(([u, pw]) => ` user_${u}="${pw}"`).join('');
  return [
    'process.roles=broker,controller',
    `node.id=${index + 1}`,
    `controller.quorum.voters=${voters}`,
    `listeners=${client}://127.0.0.1:${p.broker[index]},CONTROLLER://127.0.0.1:${p.controller[index]}`,
    `advertised.listeners=${client}://127.0.0.1:${p.broker[index]}`,
    'controller.listener.names=CONTROLLER',
    `inter.broker.listener.name=${client}`,
    `listener.security.protocol.map=CONTROLLER:PLAINTEXT,${client}:${client}`,
    ...(self
      ? [
          'sasl.enabled.mechanisms=PLAIN',
          'sasl.mechanism.inter.broker.protocol=PLAIN',
          `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${self.username}" password="${self.password}"${users};`,
        ]
      : []),
    `log.dirs=${join(nodeDir(dir, index), 'data')}`,
    'num.partitions=1',
    `default.replication.factor=${rf}`,
    `min.insync.replicas=${nodes >= 3 ? 2 : 1}`,
    `offsets.topic.replication.factor=${rf}`,
    // Fewer offsets partitions: the coordinator is ready seconds sooner on a 2-core machine.
    'offsets.topic.num.partitions=10',
    `transaction.state.log.replication.factor=${rf}`,
    `transaction.state.log.min.isr=${nodes >= 3 ? 2 : 1}`,
    'transaction.state.log.num.partitions=4',
    // Groups form at once instead of waiting 3 s for more members (tests, demo, bench).
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    'log.retention.hours=24',
    'log.segment.bytes=268435456',
    // The log cleaner looks for compactable logs every second, not every 15 s (the compacted-topic test waits for it).
    'log.cleaner.backoff.ms=1000',
    // A killed node is fenced (and its partitions' leadership moved) in ~3 s rather than 9 s.
    'broker.heartbeat.interval.ms=500',
    'broker.session.timeout.ms=3000',
    'num.network.threads=2',
    'num.io.threads=4',
    '',
  ].join('\n');
}

/**
 * A KRaft cluster id: 16 random bytes, base64url (as Kafka's own Uuid). One
 * starting with '-' would be read as an option by kafka-storage (Kafka's
 * generator skips those too), which failed ~1 start in 64.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
