/**
 * Waiting for a started cluster to answer: a metadata request must see every
 * broker; a node that exits meanwhile, or a timeout, fails with the last
 * lines of its server.log (the only place a broker says why).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { KafkaSetupError } from './errors.ts';
import { nodeDir } from './layout.ts';
import { isOurBroker, readPid } from './pids.ts';
import type { saslClient } from './properties.ts';

const { Kafka, logLevel } = kafkajs;

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function waitForBrokers(brokers: string[], nodes: number, dir: string, timeoutMs: number, sasl?: ReturnType<typeof saslClient>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const kafka = new Kafka({ clientId: 'partita-kafka-script', brokers, sasl, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 });
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    for (let i = 0; i < nodes; i++) {
      const nd = nodeDir(dir, i);
      const pid = readPid(join(nd, 'broker.pid'));
      if (pid === undefined || !isOurBroker(pid, join(nd, 'server.properties'))) {
        throw new KafkaSetupError('BROKER_START_FAILED', `Kafka node ${i + 1} exited during startup. Last lines of ${join(nd, 'server.log')}:\n${tail(join(nd, 'server.log'))}`);
      }
    }
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length >= nodes) return;
      lastError = `${cluster.brokers.length}/${nodes} brokers registered`;
    } catch (err) {
      lastError = (err as Error).message;
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await sleep(250);
  }
  throw new KafkaSetupError(
    'BROKER_START_TIMEOUT',
    `Kafka did not answer a metadata request within ${timeoutMs} ms (${lastError}). Last lines of ${join(nodeDir(dir, 0), 'server.log')}:\n${tail(join(nodeDir(dir, 0), 'server.log'))}`,
  );
}
