/**
 * The Java check: the Kafka 4 broker (and the bench's Java baselines) need a
 * Java 17+ on PATH; say so plainly before anything is downloaded or started.
 */
import { spawnSync } from 'node:child_process';
import { KafkaSetupError } from './errors.ts';
import { KAFKA_VERSION } from './version.ts';

/** Checks Java 17+ is on PATH (the Kafka 4 broker needs it). */
export function checkJava(): void {
  const res = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (res.error) {
    throw new KafkaSetupError('JAVA_NOT_FOUND', 'java was not found on PATH. Kafka 4 needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless).');
  }
  const text = `${res.stderr}${res.stdout}`;
  const m = /version "(\d+)(?:\.(\d+))?/.exec(text);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : 0;
  if (major < 17) {
    throw new KafkaSetupError('JAVA_TOO_OLD', `Kafka ${KAFKA_VERSION} needs Java 17 or newer; found: ${text.split('\n')[0] ?? 'unknown'}`);
  }
}
