/**
 * `npm run bench:fleet [-- --messages N --partitions P --busy-us U --processes 1,3 --max-messages M]`
 *
 * The fleet start-up scenario: a backlog of small messages (~20 bytes) with a
 * CPU-bound consumer (U µs per message, synchronous), consumed once by one
 * `partita server` process and once by several started together (each with
 * 2 worker threads), every message recorded. Reports per run the time to
 * consume the backlog, the throughput, duplicates (messages processed more
 * than once: the cost of the rebalances while the processes join) and the
 * throughput ratio of N processes to one. On a 2-core machine N processes
 * share the same cores: the ratio shows what rebalances cost, not scaling.
 */
import { parseArgs } from 'node:util';
import { brokersFromEnvOrLocal } from '../scripts/kafka/broker.ts';
import { createTopic, produceIds, unique, waitFor } from '../test/helpers/kafka.ts';
import { idStats, messageRecords, startAppProcess, tempFile } from '../test/helpers/app.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '600000' },
    partitions: { type: 'string', default: '12' },
    'busy-us': { type: 'string', default: '50' },
    processes: { type: 'string', default: '1,3' },
    'max-messages': { type: 'string' },
  },
});
const messages = Number(values.messages);
const partitions = Number(values.partitions);
const counts = values.processes.split(',').map(Number);

const { brokers } = await brokersFromEnvOrLocal((l) => console.log(`[kafka] ${l}`));
process.env.KAFKA_BROKERS = brokers.join(',');
const topic = unique('fleet-bench');
await createTopic(topic, partitions);
console.log(`producing ${messages} messages to ${topic} (${partitions} partitions)...`);
const produced = await produceIds(topic, 0, messages, { perSend: 5000 });

const rows: Array<{ processes: number; seconds: number; rate: number; duplicates: number }> = [];
for (const n of counts) {
  const out = tempFile('records.jsonl');
  const env: Record<string, string> = {
    KAFKA_BROKERS: process.env.KAFKA_BROKERS,
    PARTITA_TEST_TOPIC: topic,
    PARTITA_TEST_GROUP: unique(`fleet-bench-${n}`),
    PARTITA_TEST_OUT: out,
    PARTITA_TEST_BUSY_US: values['busy-us'],
    PARTITA_TEST_CONCURRENCY: '2',
    PARTITA_TEST_COMMIT_INTERVAL_MS: '1000',
    PARTITA_LOG_LEVEL: 'warn',
    ...(values['max-messages'] ? { PARTITA_TEST_MAX_MESSAGES: values['max-messages'] } : {}),
  };
  const started = Date.now();
  const fleet = Array.from({ length: n }, () => startAppProcess(env));
  try {
    await waitFor(() => idStats(messageRecords(out)).distinct.size >= produced.length, `${n} process(es) consumed the backlog`, 900_000, 500);
  } finally {
    for (const p of fleet) p.child.kill('SIGTERM');
  }
  const seconds = (Date.now() - started) / 1000;
  await Promise.all(fleet.map((p) => p.exited));
  const { duplicates } = idStats(messageRecords(out));
  rows.push({ processes: n, seconds, rate: messages / seconds, duplicates });
  console.log(`${n} process(es): ${seconds.toFixed(1)} s, ${Math.round(messages / seconds)} msg/s, ${duplicates} duplicates (${((100 * duplicates) / messages).toFixed(2)} %)`);
}
const base = rows[0]!;
console.log('\n| processes | time (s) | msg/s | vs first | duplicates | dup % |\n|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.processes} | ${r.seconds.toFixed(1)} | ${Math.round(r.rate)} | ${(r.rate / base.rate).toFixed(2)}× | ${r.duplicates} | ${((100 * r.duplicates) / messages).toFixed(2)} |`);
process.exit(0);
