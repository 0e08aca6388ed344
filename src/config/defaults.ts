/**
 * Every default of the configuration, in one place: resolveConfig fills them
 * in from here, and a test holds README's configuration table and the
 * `@default` tags of the config types against this object, so the three
 * cannot drift apart. (`concurrency` defaults to the machine's
 * os.availableParallelism(), which is not a constant.)
 */
export const DEFAULTS = {
  kafka: { clientId: 'partita', connectionTimeoutMs: 3000, requestTimeoutMs: 30_000, connectRetries: 5 },
  app: { shutdownTimeoutMs: 30_000 },
  http: { enabled: true, host: '127.0.0.1', port: 9394, maxEventLoopLagMs: 5000, poolDeadAfterMs: 10_000 },
  producer: { idempotent: true, lingerMs: 5, batchSize: 1000 },
  metrics: { intervalMs: 5000 },
  /** Worker threads' heap limits (Node's Worker resourceLimits); the old generation has V8's own limit by default. */
  threadMemory: { youngGenerationMb: 16 },
  /** Settings of every consumer group (`defaults` and each group's own override them). */
  group: {
    prefetch: 2,
    maxMessages: 1000,
    commitIntervalMs: 1000,
    sessionTimeoutMs: 30_000,
    heartbeatIntervalMs: 3000,
    rebalanceTimeoutMs: 60_000,
    maxBytesPerPartition: 1024 * 1024,
    maxBytes: 10 * 1024 * 1024,
    maxWaitTimeMs: 500,
    retryBackoff: { initialMs: 1000, maxMs: 30_000 },
    timeoutGraceMs: 5000,
    checkCrcs: true,
  },
  topic: { deserializer: 'json', backend: 'pool', startFrom: 'earliest', active: true, manualOffsets: false, eofed: false },
  deadLetter: { maxRetries: 3, retryMalformed: false },
  kafkaTopic: { replicationFactor: 1 },
} as const;
