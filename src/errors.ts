/**
 * The error catalogue. Every error Partita raises on purpose is one of these
 * classes; `code` is stable (equal to the class's catalogue key) so logs,
 * alerts and tests can match on it. `retriable` says whether trying the same
 * thing again can succeed.
 */

export const ErrorCodes = {
  CONFIG_INVALID: 'The app config or routes failed validation; `problems` lists every issue with its path.',
  BOOT_FILE_NOT_FOUND: 'The boot file given with --boot (default: partita.config.ts, .mts, .js or .mjs) does not exist.',
  BOOT_FILE_INVALID: 'The boot file could not be imported, or its default export is not createApp(...).',
  BOOT_FILE_NEEDS_TSX: 'The boot file is TypeScript and tsx (an optional peer dependency) is not installed.',
  UNKNOWN_CONSUMER_GROUP: '--consumer-groups named a group that the routes do not define.',
  NO_ACTIVE_ROUTES: 'The selected consumer groups have no active topic to consume.',
  PAYLOAD_INVALID: 'A message payload could not be deserialized (thrown only when `message.payload` is read).',
  CONSUMER_FAILED: 'consume() (or a lifecycle hook) threw; the batch is retried from the first unprocessed offset.',
  JOB_TIMEOUT: "A batch ran longer than its topic's timeoutMs; it is retried (or dead-lettered) like any failure.",
  DEAD_LETTER_FAILED: 'Producing a message to its dead-letter topic failed; the partition stays paused and the write is retried.',
  WORKER_FAILED: 'A worker thread died or could not load the boot file.',
  BROKER_UNREACHABLE: 'No Kafka broker answered within the connection retry budget.',
  BROKER_AUTH_FAILED: 'Kafka rejected the SASL authentication (wrong user or password, or a mechanism the listener does not enable); not retried.',
  BROKER_TLS_FAILED: "The TLS connection to Kafka failed: the broker's certificate could not be verified (unknown CA, self-signed, expired, wrong host name) or the handshake failed (e.g. TLS against a plaintext listener).",
  SUBSCRIBE_FAILED: 'Subscribing to a routed topic failed (e.g. it does not exist and cannot be auto-created).',
  SHUTDOWN_TIMEOUT: 'Graceful shutdown did not finish within shutdownTimeoutMs.',
  COMMIT_UNVERIFIED: "On graceful stop, Kafka's committed offset of some partition (read back with the admin API) is behind what was processed, or the final commit was not acknowledged and Kafka could not be read: the final commit may not have reached Kafka. Nothing is lost; those messages are delivered again.",
  FETCHER_CRASHED: 'The kafkajs consumer of a group failed in a way it does not recover from.',
  PRODUCE_FAILED: 'Kafka did not acknowledge produced messages (or a message was invalid); inside consume() the batch fails and is retried.',
  RESPONDER_CONTRACT: "A responder broke its declared topics: an undeclared topic, a required topic not used, or a single-use topic used twice. Nothing was sent.",
  RESPONDER_MISSING: "respondWith() was called in a consumer whose route has no `responder`.",
  TOPIC_ADMIN_FAILED: '`partita topics` could not read or create topics on the cluster.',
  INSTALL_TARGET_NOT_EMPTY: '`partita install` only scaffolds into an empty (or new) directory.',
  HTTP_LISTEN_FAILED: 'The metrics/health HTTP server could not bind its host:port (in use, or not an address of this machine).',
  USAGE_INVALID: 'A CLI option has an invalid value (e.g. --http-port abc); the command exits 2.',
  INVALID_ARGUMENT: 'A Partita API was called with an argument it does not take (e.g. an unknown event name).',
  CONSUMER_DETACHED: "A consumer's partition API (topic, produceSync, markAsConsumed, …) was used before the runtime attached it to a partition, e.g. from its constructor; use initialized().",
  RESPONDER_MISUSE: 'respondTo() was called outside respond() (responders are driven by a consumer\'s respondWith()).',
  ROUTE_NOT_FOUND: "A worker thread got a batch for a group/topic its boot file does not route (the boot file changed under a running server, or differs between threads).",
  BATCH_CORRUPT: 'Fetched records could not be read: a record batch failed its CRC-32C, did not decompress (the message names the codec and offset) or does not add up, or a batch that crossed the thread boundary is not what was packed. The partition is fetched again with backoff and does not move past them.',
  PARALLEL_SPLIT_MISMATCH: "The worker threads running one partition's virtual partitions split a batch differently (a `parallel.by` or `filter` that is not a pure function of the message), so some messages would have run on no thread or on two: the batch fails and is retried.",
  SWARM_CRASH_LOOP: 'A process of `partita swarm` exited before its server started maxStartCrashes times in a row, or exited 2 (a usage or config error): restarting it cannot help, so the swarm stops the other processes and exits 1.',
  TEST_READ_TIMEOUT: "partita/testing's readMessages() did not find the expected messages in time.",
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class PartitaError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

export interface ConfigProblem {
  /** Dotted path into the config, e.g. `routes.events.topics.users.consumer`. */
  path: string;
  message: string;
}

export class ConfigError extends PartitaError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    const lines = problems.map((p) => `  - ${p.path || '(root)'}: ${p.message}`).join('\n');
    super('CONFIG_INVALID', `Invalid Partita config (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines}`);
    this.problems = problems;
  }
}

export class BootFileError extends PartitaError {
  constructor(code: 'BOOT_FILE_NOT_FOUND' | 'BOOT_FILE_INVALID' | 'BOOT_FILE_NEEDS_TSX', message: string, cause?: unknown) {
    super(code, message, { cause });
  }
}

export class UnknownConsumerGroupError extends PartitaError {
  constructor(readonly unknown: string[], readonly available: string[]) {
    super('UNKNOWN_CONSUMER_GROUP', `Unknown consumer group${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}. Available: ${available.join(', ')}`);
  }
}

export class NoActiveRoutesError extends PartitaError {
  constructor(groups: string[]) {
    super('NO_ACTIVE_ROUTES', `No active topic to consume in consumer group(s): ${groups.join(', ')}`);
  }
}

export class PayloadError extends PartitaError {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
    cause: unknown,
  ) {
    super('PAYLOAD_INVALID', `Could not deserialize the payload of ${topic}/${partition}@${offset}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** What a consume() failure looks like once it has crossed the thread boundary. */
export class ConsumerError extends PartitaError {
  constructor(
    message: string,
    readonly originalName: string,
    readonly originalStack: string | undefined,
    readonly originalCode: string | undefined,
  ) {
    super('CONSUMER_FAILED', message, { retriable: true });
  }
}

export class JobTimeoutError extends PartitaError {
  constructor(
    readonly timeoutMs: number,
    /** consume() had not settled after the grace period either: its instance was dropped. */
    readonly stuck = false,
  ) {
    super('JOB_TIMEOUT', `consume() did not finish within ${timeoutMs} ms${stuck ? ' nor within the grace period after its signal aborted' : ''}`, { retriable: true });
  }
}

export class DeadLetterError extends PartitaError {
  constructor(topic: string, cause: unknown) {
    super('DEAD_LETTER_FAILED', `Could not produce to dead-letter topic ${topic}: ${(cause as Error)?.message ?? String(cause)}`, { cause, retriable: true });
  }
}

export class WorkerError extends PartitaError {
  constructor(message: string, cause?: unknown) {
    super('WORKER_FAILED', message, { cause, retriable: true });
  }
}

export class BrokerUnreachableError extends PartitaError {
  constructor(brokers: string[], cause: unknown) {
    super('BROKER_UNREACHABLE', `Could not reach Kafka at ${brokers.join(', ')}: ${(cause as Error)?.message ?? String(cause)}`, { cause, retriable: true });
  }
}

/** Kafka answered but refused our SASL credentials or mechanism: trying again cannot help. */
export class BrokerAuthError extends PartitaError {
  constructor(brokers: string[], cause: unknown) {
    super('BROKER_AUTH_FAILED', `Authentication with Kafka at ${brokers.join(', ')} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** The TLS handshake with Kafka failed; `tlsCode` is Node's/OpenSSL's code when there is one. */
export class BrokerTlsError extends PartitaError {
  constructor(
    brokers: string[],
    cause: unknown,
    readonly tlsCode: string | undefined,
  ) {
    // Certificate verification (OpenSSL's results, Node's host name check) vs. a handshake that broke off.
    const verify = tlsCode !== undefined && (tlsCode === 'ERR_TLS_CERT_ALTNAME_INVALID' || !/^(ERR_|E[A-Z]+$)/.test(tlsCode));
    const hint = verify
      ? "the broker's certificate is not trusted for this address: give its CA in kafka.ssl.ca and check the host name it is issued for"
      : 'the handshake did not complete: is this listener TLS (TLS against a plaintext listener fails like this), and do both sides accept a common TLS version?';
    super('BROKER_TLS_FAILED', `TLS connection to Kafka at ${brokers.join(', ')} failed${tlsCode ? ` (${tlsCode})` : ''}: ${(cause as Error)?.message ?? String(cause)}; ${hint}`, { cause });
  }
}

/** OpenSSL's certificate verification results as Node reports them (`err.code`), besides the prefixed families below. */
const TLS_VERIFY_CODES = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'HOSTNAME_MISMATCH', 'OUT_OF_MEM']);
const TLS_CODE_PREFIXES = /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|ERROR_IN_CERT_|ERROR_IN_CRL_|CRL_)/;
/** Node's message when the peer drops the socket mid-handshake (code ECONNRESET), e.g. a plaintext Kafka listener. */
const TLS_ABORTED = /before secure TLS connection was established/;

/** `err`, its causes and (for aggregate errors) their members, breadth first; cycles and depth bounded. */
function errorChain(err: unknown): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0 && out.length < 20) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const rec = e as Record<string, unknown>;
    out.push(rec);
    queue.push(rec.cause, rec.originalError);
    if (Array.isArray(rec.errors)) queue.push(...(rec.errors as unknown[]));
  }
  return out;
}

/**
 * The error for a failed connection to Kafka at start-up, from what kafkajs
 * threw: BROKER_AUTH_FAILED when anything in its cause chain is a SASL
 * failure (kafkajs's KafkaJSSASLAuthenticationError, or the broker's
 * SASL_AUTHENTICATION_FAILED / UNSUPPORTED_SASL_MECHANISM), BROKER_TLS_FAILED
 * when it carries a TLS code (kafkajs copies Node's `code` onto its
 * KafkaJSConnectionError: ERR_SSL_*, ERR_TLS_*, CERT_*, UNABLE_TO_*,
 * DEPTH_ZERO_SELF_SIGNED_CERT, …) or Node's "disconnected before secure TLS
 * connection was established"; BROKER_UNREACHABLE otherwise.
 */
export function brokerConnectError(brokers: string[], err: unknown): BrokerUnreachableError | BrokerAuthError | BrokerTlsError {
  const chain = errorChain(err);
  if (chain.some((e) => e.name === 'KafkaJSSASLAuthenticationError' || e.type === 'SASL_AUTHENTICATION_FAILED' || e.type === 'UNSUPPORTED_SASL_MECHANISM')) {
    return new BrokerAuthError(brokers, err);
  }
  for (const e of chain) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code && (TLS_VERIFY_CODES.has(code) || TLS_CODE_PREFIXES.test(code))) return new BrokerTlsError(brokers, err, code);
    if (typeof e.message === 'string' && TLS_ABORTED.test(e.message)) return new BrokerTlsError(brokers, err, code);
  }
  return new BrokerUnreachableError(brokers, err);
}

export class SubscribeError extends PartitaError {
  constructor(group: string, topic: string, cause: unknown) {
    super('SUBSCRIBE_FAILED', `Consumer group ${group} could not subscribe to topic ${topic}: ${(cause as Error)?.message ?? String(cause)}`, { cause, retriable: true });
  }
}

export class ShutdownTimeoutError extends PartitaError {
  constructor(timeoutMs: number, readonly stillRunning: string[]) {
    super('SHUTDOWN_TIMEOUT', `Shutdown did not finish within ${timeoutMs} ms; still running: ${stillRunning.join(', ') || 'nothing tracked'}`);
  }
}

export class CommitUnverifiedError extends PartitaError {
  constructor(readonly partitions: Array<{ group: string; topic: string; partition: number; processed: number; committed: number | null; unreadable?: true }>) {
    super(
      'COMMIT_UNVERIFIED',
      `Kafka's committed offsets are behind what was processed for ${partitions.length} partition(s): ` +
        partitions.map((p) => `${p.group}/${p.topic}/${p.partition} committed ${p.committed ?? (p.unreadable ? 'unknown (not acknowledged, and Kafka could not be read)' : 'none')}, processed ${p.processed}`).join('; ') +
        ' (those messages will be delivered again)',
    );
  }
}

export class FetcherCrashedError extends PartitaError {
  constructor(group: string, cause: unknown) {
    super('FETCHER_CRASHED', `The fetcher of consumer group ${group} crashed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** Plain-data form of an error, safe to post between threads. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string | undefined;
  code?: string | undefined;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, stack: err.stack, code: typeof code === 'string' ? code : undefined };
  }
  return { name: 'NonError', message: String(err) };
}

/** A CLI option with an invalid value; the CLI prints it as a usage error and exits 2. */
export class UsageError extends PartitaError {
  constructor(message: string) {
    super('USAGE_INVALID', message);
  }
}

export class InvalidArgumentError extends PartitaError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

export class ConsumerDetachedError extends PartitaError {
  constructor() {
    super('CONSUMER_DETACHED', 'This consumer is not attached to a partition yet (do not call it from the constructor; use initialized()).');
  }
}

export class ResponderMisuseError extends PartitaError {
  constructor() {
    super('RESPONDER_MISUSE', "respondTo() is only valid while respond() runs (call it through a consumer's respondWith())");
  }
}

export class RouteNotFoundError extends PartitaError {
  constructor(group: string, topic: string) {
    super('ROUTE_NOT_FOUND', `no route for consumer group "${group}", topic "${topic}" in this thread's boot file`);
  }
}

export class BatchCorruptError extends PartitaError {
  constructor(message: string) {
    super('BATCH_CORRUPT', message);
  }
}

export class ParallelSplitError extends PartitaError {
  constructor(group: string, topic: string, partition: number) {
    super('PARALLEL_SPLIT_MISMATCH', `the threads running ${group}/${topic}/${partition}'s virtual partitions split a batch differently: parallel.by and filter must give the same answer for the same message on every thread (no randomness, no per-thread state)`, { retriable: true });
  }
}

export class TestReadTimeoutError extends PartitaError {
  constructor(message: string) {
    super('TEST_READ_TIMEOUT', message, { retriable: true });
  }
}

export class HttpListenError extends PartitaError {
  constructor(host: string, port: number, cause: unknown) {
    const reason = (cause as NodeJS.ErrnoException)?.code === 'EADDRINUSE' ? 'the port is in use' : ((cause as Error)?.message ?? String(cause));
    super('HTTP_LISTEN_FAILED', `cannot serve metrics on http://${host}:${port}: ${reason}; set http.port in the config, PARTITA_HTTP_PORT or --http-port (0 picks a free port), or --no-http`, { cause });
  }
}

export class ProduceError extends PartitaError {
  constructor(message: string, cause?: unknown) {
    super('PRODUCE_FAILED', message, { cause, retriable: true });
  }
}

export class ResponderError extends PartitaError {
  constructor(
    readonly responder: string,
    readonly problems: string[],
  ) {
    super('RESPONDER_CONTRACT', `${responder} broke its topic contract (nothing was sent): ${problems.join('; ')}`);
  }
}

export class ResponderMissingError extends PartitaError {
  constructor(group: string, topic: string) {
    super('RESPONDER_MISSING', `respondWith() needs a responder: add \`responder: SomeResponder\` to the route of topic ${topic} in consumer group ${group}`);
  }
}

export class TopicAdminError extends PartitaError {
  constructor(message: string, cause?: unknown) {
    super('TOPIC_ADMIN_FAILED', message, { cause, retriable: true });
  }
}

export class InstallError extends PartitaError {
  constructor(dir: string, entries: string[]) {
    super('INSTALL_TARGET_NOT_EMPTY', `${dir} is not empty (${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', …' : ''}); partita install scaffolds into an empty or new directory`);
  }
}
