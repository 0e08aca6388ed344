/**
 * Which Apache Kafka the local-broker scripts run: one constant, read by the
 * Java check, the Maven download, the start-up log line and the bench report.
 */

/**
 * Newest Kafka whose broker AND tools artifacts are on Maven Central and that
 * kafkajs 2.2.4 talks to (proved by test/integration/toolchain.test.ts).
 * 4.4.0's kafka-tools artifacts are missing from Central, so 4.3.1.
 */
export const KAFKA_VERSION = process.env.PARTITA_KAFKA_VERSION ?? '4.3.1';
