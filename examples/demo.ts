/**
 * `npm run demo`: the main job in one command.
 * Starts a local Kafka unless KAFKA_BROKERS is set, creates the page_views
 * topic (6 partitions), produces a steady stream of sample events, runs the
 * demo app (examples/events) on worker threads and prints live progress.
 * Ctrl-C (or --duration SECONDS) stops the producer, the app (gracefully,
 * committing what was processed) and the broker it started.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { Server, loadApp, startHttpServer } from '../src/index.ts';
import { createLogger } from '../src/logger.ts';
import { brokersFromEnvOrLocal, stopCluster } from '../scripts/kafka/broker.ts';
import { createTopics } from '../src/app/topics.ts';
import { signalPresses } from '../src/cli/signal-presses.ts';

const { Kafka, logLevel } = kafkajs;
const TOPIC = 'page_views';
const BOOT = fileURLToPath(new URL('./events/partita.config.ts', import.meta.url));
const PAGES = ['/', '/pricing', '/docs', '/blog', '/signup', '/login', '/about', '/careers'];

const { values } = parseArgs({
  options: {
    duration: { type: 'string' },
    rate: { type: 'string', default: '5000' },
  },
});
const rate = Number(values.rate);
const durationS = values.duration === undefined ? undefined : Number(values.duration);
if (!(rate > 0) || (durationS !== undefined && !(durationS > 0))) {
  console.error('usage: npm run demo [-- --rate MSG_PER_S] [--duration SECONDS]');
  process.exit(2);
}

const { brokers, started: startedBroker } = await brokersFromEnvOrLocal((l) => console.log(l));
console.log(`Kafka at ${brokers.join(',')}`);

const kafka = new Kafka({ clientId: 'partita-demo-producer', brokers, logLevel: logLevel.NOTHING });
const app = await loadApp(BOOT);
// The topics the app declares (page_views and the responder's page_view_counts), as `partita topics create` makes them.
const created = await createTopics(app);
console.log(created.length > 0 ? `created topics ${created.join(', ')}` : 'topics exist');

// The producer: `rate` events per second in 10 sends, 1 in 50 flagged as a bot (filtered on the fetcher).
const producer = kafka.producer();
await producer.connect();
let produced = 0;
let producing = true;
const produceLoop = (async () => {
  while (producing) {
    const started = Date.now();
    const n = Math.max(1, Math.round(rate / 10));
    const messages = Array.from({ length: n }, () => {
      const user = `u${Math.floor(Math.random() * 500)}`;
      const bot = Math.random() < 0.02;
      return { key: user, value: JSON.stringify({ page: PAGES[Math.floor(Math.random() * PAGES.length)], user, at: Date.now() }), headers: bot ? { bot: 'true' } : {} };
    });
    await producer.send({ topic: TOPIC, messages });
    produced += n;
    await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - started))));
  }
})();

const server = await Server.start({ app, bootFile: BOOT, logger: createLogger({ level: process.env.PARTITA_LOG_LEVEL ?? 'warn' }) });
// Metrics and probes, as `partita server` serves them (PARTITA_HTTP_PORT=0 picks a free port).
const http = await startHttpServer(server, { ...app.config.http, port: Number(process.env.PARTITA_HTTP_PORT ?? app.config.http.port) }).catch((err: Error) => {
  console.log(`(no metrics endpoint: ${err.message})`);
  return undefined;
});
console.log(`app started: ${app.config.concurrency} worker threads${http ? `; metrics on ${http.url}/metrics` : ''}; Ctrl-C to stop\n`);

let last = 0;
const progress = setInterval(() => {
  const status = server.status();
  const processed = status.processedMessages;
  const perThread = Object.entries(status.threads)
    .map(([id, keys]) => `thread ${id}: p${keys.map((k) => k.split('/').at(-1)).join(',p') || '-'}`)
    .join(' | ');
  console.log(`${new Date().toISOString().slice(11, 19)}  produced ${produced}  processed ${processed}  ${processed - last} msg/s  ${perThread}`);
  last = processed;
}, 1000);

let stopping = false;
async function stop(reason: string): Promise<void> {
  if (stopping) {
    console.log(`forced exit; still running: ${server.busy().join(', ') || 'nothing'}`);
    process.exit(130);
  }
  stopping = true;
  console.log(`\n${reason}: stopping producer, app and ${startedBroker ? 'the broker' : 'nothing else'} ...`);
  clearInterval(progress);
  producing = false;
  await produceLoop;
  await producer.disconnect();
  let code = 0;
  try {
    await server.stop();
    await http?.close();
    const s = server.status();
    console.log(`app stopped cleanly; ${s.processedMessages} messages processed (bots filtered out before scheduling)`);
  } catch (err) {
    console.error(`app did not stop cleanly: ${(err as Error).message}`);
    code = 1;
  }
  if (startedBroker) await stopCluster();
  process.exit(code);
}
// One Ctrl-C can arrive more than once (npm relays it): copies within half a second are the same press.
const presses = signalPresses();
const onSignal = (reason: string) => {
  if (!presses().repeated) void stop(reason);
};
process.on('SIGINT', () => onSignal('Ctrl-C'));
process.on('SIGTERM', () => onSignal('SIGTERM'));
if (durationS !== undefined) setTimeout(() => void stop(`${durationS} s elapsed`), durationS * 1000);
