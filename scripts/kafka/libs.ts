/**
 * The Kafka jars: the broker and kafka-tools (plus a log4j2 binding) resolved
 * from Maven Central with `mvn` (pom.xml next to this file) into the cache,
 * once per Kafka version; no Kafka distribution is downloaded or committed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KafkaSetupError } from './errors.ts';
import { cacheRoot } from './layout.ts';
import { KAFKA_VERSION } from './version.ts';

const here = dirname(fileURLToPath(import.meta.url));

export function libsDir(version = KAFKA_VERSION): string {
  return join(cacheRoot(), `kafka-${version}`, 'libs');
}

/**
 * Returns the directory of the broker + tools jars, resolving them with Maven
 * the first time. A marker file makes a half-finished download count as absent.
 */
export function ensureKafkaLibs(log: (line: string) => void = () => {}): string {
  const libs = libsDir();
  if (existsSync(join(libs, '.complete'))) return libs;
  const mvn = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (mvn.error) {
    throw new KafkaSetupError('MAVEN_NOT_FOUND', 'mvn was not found on PATH; it resolves the Kafka broker from Maven Central (Debian: apt-get install maven).');
  }
  log(`resolving Apache Kafka ${KAFKA_VERSION} from Maven Central into ${libs} ...`);
  const tmp = `${libs}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const res = spawnSync(
    'mvn',
    ['-B', '-q', '-f', join(here, 'pom.xml'), 'dependency:copy-dependencies', `-Dkafka.version=${KAFKA_VERSION}`, `-DoutputDirectory=${tmp}`, '-DincludeScope=runtime'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (res.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    const tail = `${res.stdout}${res.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new KafkaSetupError('MAVEN_FAILED', `mvn could not resolve Kafka ${KAFKA_VERSION}:\n${tail}`);
  }
  writeFileSync(join(tmp, '.complete'), `${KAFKA_VERSION}\n`);
  rmSync(libs, { recursive: true, force: true });
  mkdirSync(dirname(libs), { recursive: true });
  renameSync(tmp, libs);
  return libs;
}
