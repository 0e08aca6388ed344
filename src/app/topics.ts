/**
 * Declarative topics: routes declare `kafkaTopic: { partitions,
 * replicationFactor, config }`, responders declare their outgoing topics;
 * `partita topics plan|create` and `partita/testing`'s ensureTopics act on
 * them through src/kafka/admin.ts.
 */
import { createTopics as createDeclared, planTopics as planDeclared, type TopicChange, type TopicDeclaration } from '../kafka/admin.ts';
import { DEFAULTS } from '../config/defaults.ts';
import type { App } from './app.ts';

/**
 * Every declared topic, sorted by name: routes' `kafkaTopic` (on their group's
 * cluster) and responders' outgoing topics (on the app's cluster, where
 * app.producer writes). The first declaration of a name wins.
 */
export function declaredTopics(app: App): TopicDeclaration[] {
  const out = new Map<string, TopicDeclaration>();
  for (const g of app.consumerGroups) {
    for (const t of g.topics) {
      if (t.kafkaTopic && !out.has(t.topic)) out.set(t.topic, { topic: t.topic, ...t.kafkaTopic, kafka: g.kafka });
    }
  }
  for (const g of app.consumerGroups) {
    for (const t of g.topics) {
      for (const o of t.responder?.topics ?? []) {
        if (o.kafkaTopic && !out.has(o.name)) out.set(o.name, { topic: o.name, ...DEFAULTS.kafkaTopic, config: {}, ...o.kafkaTopic, kafka: app.config.kafka });
      }
    }
  }
  return [...out.values()].sort((a, b) => a.topic.localeCompare(b.topic));
}

/** What would change to make the cluster match the app's declared topics. */
export function planTopics(app: App): Promise<TopicChange[]> {
  return planDeclared(declaredTopics(app));
}

/** Creates the app's declared topics that do not exist; returns their names. */
export function createTopics(app: App): Promise<string[]> {
  return createDeclared(declaredTopics(app));
}
