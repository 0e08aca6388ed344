/**
 * Topic administration for declared topics (src/app/topics.ts collects the
 * declarations from the app): `plan` compares them with the cluster,
 * `create` makes the missing ones. Changing an existing topic (more
 * partitions, other configs) is only reported: growing partitions moves keys
 * between partitions and deserves a deliberate step.
 */
import kafkajs, { type Admin } from 'kafkajs';
import type { ResolvedKafkaConfig } from './types.ts';
import { TopicAdminError, brokerConnectError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { createKafkaClient } from './client.ts';

const { ConfigResourceTypes } = kafkajs;

export interface TopicDeclaration {
  topic: string;
  partitions: number;
  replicationFactor: number;
  config: Record<string, string>;
  kafka: ResolvedKafkaConfig;
}

export type TopicChange =
  | { kind: 'create'; declaration: TopicDeclaration }
  | { kind: 'partitions'; topic: string; current: number; declared: number }
  | { kind: 'config'; topic: string; name: string; current: string | undefined; declared: string }
  | { kind: 'unchanged'; topic: string };

async function withAdmin<T>(kafka: ResolvedKafkaConfig, f: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = createKafkaClient(kafka, createLogger({ level: 'error' })).admin();
  try {
    await admin.connect();
  } catch (err) {
    // Refused credentials or a failed TLS handshake get their own codes, as for `partita server`.
    const classified = brokerConnectError(kafka.brokers, err);
    if (classified.code !== 'BROKER_UNREACHABLE') throw classified;
    throw new TopicAdminError(`cannot reach Kafka at ${kafka.brokers.join(',')}: ${(err as Error)?.message ?? String(err)}`, err);
  }
  try {
    return await f(admin);
  } catch (err) {
    if (err instanceof TopicAdminError) throw err;
    throw new TopicAdminError(`topic administration failed: ${(err as Error)?.message ?? String(err)}`, err);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Groups declarations by cluster (a consumer group may read another cluster). */
function byCluster(decls: TopicDeclaration[]): TopicDeclaration[][] {
  const groups = new Map<string, TopicDeclaration[]>();
  for (const d of decls) {
    const k = JSON.stringify(d.kafka.brokers);
    const list = groups.get(k);
    if (list) list.push(d);
    else groups.set(k, [d]);
  }
  return [...groups.values()];
}

/** What would change to make the cluster match the declarations. */
export async function planTopics(declarations: TopicDeclaration[]): Promise<TopicChange[]> {
  const changes: TopicChange[] = [];
  for (const decls of byCluster(declarations)) {
    changes.push(
      ...(await withAdmin(decls[0]!.kafka, async (admin) => {
        const existing = new Set(await admin.listTopics());
        const present = decls.filter((d) => existing.has(d.topic));
        const out: TopicChange[] = decls.filter((d) => !existing.has(d.topic)).map((declaration) => ({ kind: 'create' as const, declaration }));
        if (present.length === 0) return out;
        const meta = await admin.fetchTopicMetadata({ topics: present.map((d) => d.topic) });
        const configs = await admin.describeConfigs({
          includeSynonyms: false,
          resources: present.map((d) => ({ type: ConfigResourceTypes.TOPIC, name: d.topic, configNames: Object.keys(d.config) })),
        });
        for (const d of present) {
          const before = out.length;
          const current = meta.topics.find((t) => t.name === d.topic)?.partitions.length ?? 0;
          if (current < d.partitions) out.push({ kind: 'partitions', topic: d.topic, current, declared: d.partitions });
          const entries = configs.resources.find((r) => r.resourceName === d.topic)?.configEntries ?? [];
          for (const [name, value] of Object.entries(d.config)) {
            const cur = entries.find((e) => e.configName === name)?.configValue;
            if (cur !== value) out.push({ kind: 'config', topic: d.topic, name, current: cur ?? undefined, declared: value });
          }
          if (out.length === before) out.push({ kind: 'unchanged', topic: d.topic });
        }
        return out;
      })),
    );
  }
  return changes.sort((a, b) => topicOf(a).localeCompare(topicOf(b)));
}

function topicOf(c: TopicChange): string {
  return c.kind === 'create' ? c.declaration.topic : c.topic;
}

/** Creates the declared topics that do not exist; returns their names. */
export async function createTopics(declarations: TopicDeclaration[]): Promise<string[]> {
  const missing = (await planTopics(declarations)).flatMap((c) => (c.kind === 'create' ? [c.declaration] : []));
  const created: string[] = [];
  for (const decls of byCluster(missing)) {
    await withAdmin(decls[0]!.kafka, async (admin) => {
      await admin.createTopics({
        waitForLeaders: true,
        topics: decls.map((d) => ({
          topic: d.topic,
          numPartitions: d.partitions,
          replicationFactor: d.replicationFactor,
          configEntries: Object.entries(d.config).map(([name, value]) => ({ name, value })),
        })),
      });
      created.push(...decls.map((d) => d.topic));
    });
  }
  return created;
}

/** Human-readable plan lines (for the CLI). */
export function formatPlan(changes: TopicChange[]): string[] {
  return changes.map((c) => {
    switch (c.kind) {
      case 'create': {
        const d = c.declaration;
        const cfg = Object.entries(d.config).map(([k, v]) => `${k}=${v}`);
        return `+ ${d.topic}: create with ${d.partitions} partition(s), replication factor ${d.replicationFactor}${cfg.length ? `, ${cfg.join(', ')}` : ''}`;
      }
      case 'partitions':
        return `~ ${c.topic}: partitions ${c.current} → ${c.declared} (not applied by \`topics create\`; adding partitions remaps keys)`;
      case 'config':
        return `~ ${c.topic}: ${c.name} ${c.current ?? '(unset)'} → ${c.declared} (not applied by \`topics create\`)`;
      case 'unchanged':
        return `= ${c.topic}: up to date`;
    }
  });
}
