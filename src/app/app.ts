/**
 * `createApp(config)`: what a boot file exports. The same file is imported by
 * the main thread and by every worker thread, so each builds the same routing
 * table from the same classes (no class names in strings).
 */
import { createLogger } from '../logger.ts';
import { KafkaProducer } from '../kafka/producer.ts';
import type { Producer } from '../producer/producer.ts';
import { resolveConfig, type AppConfig, type ConsumerGroupRoute, type ResolvedConfig, type TopicRoute } from '../config/resolve.ts';
import { routeKey } from '../protocol/partition-id.ts';

export const APP_BRAND: unique symbol = Symbol.for('partita.App');

export class App {
  readonly [APP_BRAND] = true;
  readonly config: ResolvedConfig;
  readonly #routes = new Map<string, TopicRoute>();
  #producer: Producer | undefined;

  constructor(config: AppConfig) {
    this.config = resolveConfig(config);
    for (const g of this.config.groups) for (const t of g.topics) this.#routes.set(routeKey(g.name, t.topic), t);
  }

  get consumerGroups(): readonly ConsumerGroupRoute[] {
    return this.config.groups;
  }

  group(name: string): ConsumerGroupRoute | undefined {
    return this.config.groups.find((g) => g.name === name);
  }

  route(group: string, topic: string): TopicRoute | undefined {
    return this.#routes.get(routeKey(group, topic));
  }

  /**
   * The app's producer. On the main thread a kafkajs producer on `kafka`
   * (connected on first use; `partita server` flushes and closes it on
   * shutdown, scripts call `await app.producer.disconnect()`). In a worker
   * thread it forwards to the main thread's producer.
   */
  get producer(): Producer {
    this.#producer ??= new KafkaProducer(this.config.kafka, this.config.producer, createLogger().child({ component: 'producer' }));
    return this.#producer;
  }

  /** Whether the producer was ever used (so shutdown knows to flush it). */
  get hasProducer(): boolean {
    return this.#producer !== undefined;
  }

  /** Worker threads install their port-backed producer here; internal. */
  useProducer(producer: Producer): void {
    this.#producer = producer;
  }
}

/** Validates the config (throws ConfigError listing every problem) and returns the app. */
export function createApp(config: AppConfig): App {
  return new App(config);
}

export function isApp(value: unknown): value is App {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[APP_BRAND] === true;
}
