/**
 * Responders (Karafka's idea): a class that declares the topics a consumer
 * may send to, and turns what the consumer hands it into messages.
 *
 *   class UsersResponder extends Responder<[user: User]> {
 *     static topics = [topic('users_created'), topic('users_premium_created', { required: false })];
 *     respond(user: User) {
 *       this.respondTo('users_created', user, { key: user.id });
 *       if (user.premium) this.respondTo('users_premium_created', user);
 *     }
 *   }
 *
 * A route names its responder (`responder: UsersResponder`); a consumer calls
 * `await this.respondWith(user)`. respond() only collects messages; the
 * contract is checked when it returns, and only then is anything produced,
 * so a violation sends nothing. Explicit attachment rather than naming
 * conventions: class names do not survive minifiers and re-exports, and an
 * explicit route reads the same in the boot file, `partita routes` and `flow`.
 */
import { ResponderError, ResponderMisuseError } from '../errors.ts';
import type { OutgoingMessage } from '../producer/producer.ts';
import type { Serializer } from '../producer/serializers.ts';
import type { KafkaTopicDeclaration } from '../kafka/types.ts';

export interface ResponderTopicOptions {
  /** respond() must send to it every time. @default true */
  required?: boolean;
  /** More than one message to it per respond() call is allowed. @default false */
  multipleUsage?: boolean;
  /** Buffered produce (acknowledged before the batch commits, but respondWith() does not wait for it). @default false */
  async?: boolean;
  /** Serializer for this topic's messages (default: producer.serializers[topic], else JSON). */
  serializer?: Serializer;
  /** The topic as `partita topics plan|create` should make it (on the app's kafka cluster). */
  kafkaTopic?: KafkaTopicDeclaration;
}

export interface ResponderTopic {
  name: string;
  required: boolean;
  multipleUsage: boolean;
  async: boolean;
  serializer: Serializer | undefined;
  kafkaTopic: KafkaTopicDeclaration | undefined;
}

/** Declares an outgoing topic of a responder. */
export function topic(name: string, options: ResponderTopicOptions = {}): ResponderTopic {
  return { name, required: options.required ?? true, multipleUsage: options.multipleUsage ?? false, async: options.async ?? false, serializer: options.serializer, kafkaTopic: options.kafkaTopic };
}

export type ResponseOptions = Pick<OutgoingMessage, 'key' | 'headers' | 'partition' | 'timestamp'>;

export const RESPONDER_BRAND: unique symbol = Symbol.for('partita.Responder');

export abstract class Responder<A extends unknown[] = unknown[]> {
  static readonly [RESPONDER_BRAND] = true;
  /** The topics this responder may send to. */
  static topics: ResponderTopic[] = [];
  #collected: Array<{ topic: ResponderTopic; message: OutgoingMessage }> | undefined;
  #problems: string[] = [];

  /** Builds the response: call respondTo() for each message. */
  abstract respond(...args: A): void | Promise<void>;

  /** Adds a message for `topicName` to the response (sent after respond() returns and the contract holds). */
  protected respondTo(topicName: string, data: unknown, options: ResponseOptions = {}): void {
    if (!this.#collected) throw new ResponderMisuseError();
    const declared = (this.constructor as ResponderClass).topics.find((t) => t.name === topicName);
    if (!declared) {
      this.#problems.push(`topic "${topicName}" is not declared in ${this.constructor.name}.topics`);
      return;
    }
    this.#collected.push({ topic: declared, message: { topic: topicName, value: data, ...options, ...(declared.serializer ? { serializer: declared.serializer } : {}) } });
  }

  /**
   * Runs respond(...args) and checks the contract; returns the messages to
   * send (sync and async ones), or throws ResponderError listing every violation.
   */
  async collect(...args: A): Promise<{ sync: OutgoingMessage[]; async: OutgoingMessage[] }> {
    this.#collected = [];
    this.#problems = [];
    try {
      await this.respond(...args);
      const used = new Map<string, number>();
      for (const c of this.#collected) used.set(c.topic.name, (used.get(c.topic.name) ?? 0) + 1);
      const problems = [...this.#problems];
      for (const t of (this.constructor as ResponderClass).topics) {
        const n = used.get(t.name) ?? 0;
        if (t.required && n === 0) problems.push(`required topic "${t.name}" was not used`);
        if (!t.multipleUsage && n > 1) problems.push(`topic "${t.name}" was used ${n} times but is not multipleUsage`);
      }
      if (problems.length > 0) throw new ResponderError(this.constructor.name, problems);
      return { sync: this.#collected.filter((c) => !c.topic.async).map((c) => c.message), async: this.#collected.filter((c) => c.topic.async).map((c) => c.message) };
    } finally {
      this.#collected = undefined;
    }
  }
}

export type ResponderClass = (new () => Responder<any[]>) & { topics: ResponderTopic[] };

export function isResponderClass(value: unknown): value is ResponderClass {
  return typeof value === 'function' && value !== Responder && (value as unknown as Record<symbol, unknown>)[RESPONDER_BRAND] === true && Array.isArray((value as { topics?: unknown }).topics);
}
