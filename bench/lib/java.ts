/**
 * The Java side of the bench: Kafka's own ProducerPerformance (fast
 * pre-production of fixed payloads) and ConsumerPerformance (the Java
 * client, the practical ceiling on this machine), from the kafka-tools jar
 * the local-broker scripts resolve with Maven.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ensureKafkaLibs } from '../../scripts/kafka/broker.ts';

const LOG4J = new URL('../../scripts/kafka/log4j2.properties', import.meta.url).pathname;

function runJava(mainClass: string, args: string[], timeoutMs: number): Promise<string> {
  const classpath = `${join(ensureKafkaLibs(), '*')}`;
  return new Promise((resolve, reject) => {
    const child = spawn('java', ['-Xmx512m', `-Dlog4j2.configurationFile=${LOG4J}`, '-cp', classpath, mainClass, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${mainClass} failed (${signal ?? `exit ${code}`}): ${(err || out).trim().split('\n').slice(-5).join('\n')}`));
    });
  });
}

/** Produces `records` records of the payloads in `payloadFile` (one per line, picked at random) as fast as the broker takes them; `props` add producer settings (compression.type=lz4). */
export async function javaProduce(brokers: string[], topic: string, records: number, payloadFile: string, props: string[] = []): Promise<{ recordsPerSecond: number }> {
  const out = await runJava(
    'org.apache.kafka.tools.ProducerPerformance',
    ['--topic', topic, '--num-records', String(records), '--throughput', '-1', '--payload-file', payloadFile, '--producer-props', `bootstrap.servers=${brokers.join(',')}`, 'acks=1', 'linger.ms=10', 'batch.size=262144',
      // Spread evenly: the default sticky partitioner fills one partition per batch, so small
      // data sets would land on a few partitions and starve the parallel contenders.
      'partitioner.class=org.apache.kafka.clients.producer.RoundRobinPartitioner', ...props],
    600_000,
  );
  // Last line: "N records sent, X records/sec (Y MB/sec), …"
  const m = /(\d+) records sent, ([\d.]+) records\/sec/.exec(out.trim().split('\n').at(-1) ?? '');
  if (!m || Number(m[1]) !== records) throw new Error(`ProducerPerformance did not report ${records} records sent:\n${out.slice(-500)}`);
  return { recordsPerSecond: Number(m[2]) };
}

/** Consumes `messages` with the Java client; its fetch rate excludes the group join, like ours. */
export async function javaConsume(brokers: string[], topic: string, group: string, messages: number, timeoutMs: number): Promise<{ messagesPerSecond: number; seconds: number }> {
  const out = await runJava(
    'org.apache.kafka.tools.ConsumerPerformance',
    ['--bootstrap-server', brokers.join(','), '--topic', topic, '--num-records', String(messages), '--group', group, '--timeout', String(timeoutMs)],
    timeoutMs + 30_000,
  );
  // Its log lines share stdout with the report: pick the CSV header and the data row (starts with a timestamp).
  const lines = out.trim().split('\n');
  const header = lines.find((l) => l.startsWith('start.time,') && l.includes('nMsg.sec'));
  const row = lines.find((l) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}, /.test(l));
  if (!header || !row) throw new Error(`unexpected ConsumerPerformance output:\n${out.slice(-500)}`);
  const names = header.split(',').map((s) => s.trim());
  const values = row.split(',').map((s) => s.trim());
  const col = (name: string) => Number(values[names.indexOf(name)]);
  const consumed = col('data.consumed.in.nMsg');
  if (consumed < messages) throw new Error(`ConsumerPerformance consumed ${consumed} of ${messages} messages`);
  const fetchMs = col('fetch.time.ms');
  return { messagesPerSecond: col('fetch.nMsg.sec'), seconds: fetchMs / 1000 };
}
