/**
 * npm run kafka:start|stop|status [-- --nodes 3 --port 19092 --fresh]
 * A second `start` is harmless: it reports the running cluster.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_PORT, KAFKA_VERSION, KafkaSetupError, clusterStatus, knownClusters, startCluster, stopCluster } from './broker.ts';

const usage = 'usage: tsx scripts/kafka/cli.ts start|stop|status [--nodes 1|3] [--port N] [--fresh]';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        nodes: { type: 'string', default: '1' },
        port: { type: 'string', default: process.env.PARTITA_KAFKA_PORT ?? String(DEFAULT_PORT) },
        fresh: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const nodes = Number(values.nodes);
  const port = Number(values.port);
  const command = positionals[0];
  if (positionals.length !== 1 || !['start', 'stop', 'status'].includes(command ?? '') || !(nodes === 1 || nodes === 3) || !Number.isInteger(port) || port < 1 || port > 65000) {
    console.error(`invalid arguments: ${process.argv.slice(2).join(' ') || '(none)'}\n${usage}`);
    return 2;
  }
  if (command === 'start') {
    const info = await startCluster({ nodes, port, fresh: values.fresh, log: (l) => console.error(l) });
    console.log(info.started ? `Kafka ${KAFKA_VERSION} is up.` : 'Kafka is already running.');
    console.log(`KAFKA_BROKERS=${info.bootstrap}`);
    return 0;
  }
  if (command === 'stop') {
    const targets = process.argv.some((a) => a.startsWith('--nodes') || a.startsWith('--port')) ? [{ nodes, port }] : knownClusters();
    let stopped = 0;
    for (const t of targets) stopped += await stopCluster(t);
    console.log(stopped > 0 ? `stopped ${stopped} Kafka node(s)` : 'no Kafka node was running');
    return 0;
  }
  const targets = process.argv.some((a) => a.startsWith('--nodes') || a.startsWith('--port')) ? [{ nodes, port }] : knownClusters();
  let any = false;
  for (const t of targets) {
    const s = clusterStatus(t);
    if (s.running.length === 0) continue;
    any = true;
    console.log(`running: ${s.running.length}/${t.nodes} node(s), KAFKA_BROKERS=${s.bootstrap}, pids ${Object.values(s.pids).join(' ')}`);
  }
  if (!any) console.log('not running');
  return any ? 0 : 3;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof KafkaSetupError ? `error [${err.code}]: ${err.message}` : err);
    process.exit(1);
  },
);
