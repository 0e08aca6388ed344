/**
 * `npm run bench [-- options]`: every scenario runs every contender on the
 * same pre-produced data, on the same broker, in this one run, and reports
 * ratios against the baselines measured alongside (absolute numbers on a
 * shared machine mean little). Results: bench/results/<timestamp>.json and
 * .svg (or --out DIR). See README "Benchmarks".
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { brokersFromEnvOrLocal, KAFKA_VERSION, stopCluster } from '../scripts/kafka/broker.ts';
import type { ContenderResult, ContenderSpec } from './lib/contender.ts';
import { javaConsume, javaProduce } from './lib/java.ts';
import { parseOptions, ROOT } from './lib/options.ts';
import { progressBar } from './lib/progress.ts';
import { summarizeProfile } from './lib/profile.ts';
import { check, machine, svgChart, table, type BenchDocument, type ContenderRow, type ScenarioResult } from './lib/report.ts';
import { calibrateCpu, nowMs } from './apps/work.ts';

const SCENARIOS = ['passthrough', 'cpu', 'io', 'latency', 'memory'];
const CONTENDER = join(ROOT, 'bench/lib/contender.ts');

const opts = parseOptions(SCENARIOS);
const runId = Date.now().toString(36);

async function main(): Promise<void> {
  const { brokers, started: startedBroker } = await brokersFromEnvOrLocal((l) => console.error(l));
  const kafka = new kafkajs.Kafka({ clientId: 'partita-bench', brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const work = mkdtempSync(join(tmpdir(), 'partita-bench-'));
  const doc: BenchDocument = {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    quick: opts.quick,
    machine: machine(KAFKA_VERSION, (await import('kafkajs/package.json', { with: { type: 'json' } })).default.version),
    scenarios: [],
  };

  const createTopic = async (topic: string, partitions: number) => {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }] });
    for (let i = 0; ; i++) {
      const md = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
      if (md?.topics[0]?.partitions.length === partitions && md.topics[0].partitions.every((p) => p.leader >= 0)) return;
      if (i > 200) throw new Error(`topic ${topic} has no leaders after 20 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const payloadFile = (name: string, payload: string) => {
    const f = join(work, `${name}.txt`);
    writeFileSync(f, `${payload}\n`);
    return f;
  };
  /** Pre-produces `n` copies of `payload` (Java ProducerPerformance; kafkajs batches with --no-java). */
  const produceFixed = async (topic: string, n: number, payload: string, partitions = opts.partitions) => {
    const t0 = performance.now();
    if (opts.java) await javaProduce(brokers, topic, n, payloadFile(topic, payload));
    else {
      const producer = kafka.producer();
      await producer.connect();
      const batch = 5000;
      // Round robin, like the Java producer's partitioner above.
      for (let i = 0; i < n; i += batch) await producer.send({ topic, acks: 1, messages: Array.from({ length: Math.min(batch, n - i) }, (_, j) => ({ value: payload, partition: (i + j) % partitions })) });
      await producer.disconnect();
    }
    console.error(`  produced ${n.toLocaleString('en-US')} × ${Buffer.byteLength(payload)} B to ${topic} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };

  /** Runs one contender in its own process; `onJoined` runs once it joined its group (latency: start producing then). */
  const runContender = (label: string, spec: ContenderSpec, onJoined?: () => Promise<void>, profileDir?: string): Promise<ContenderResult> => {
    const bar = progressBar(label, spec.expect);
    const args = ['--import', 'tsx', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), CONTENDER, JSON.stringify(spec)];
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let result: ContenderResult | undefined;
      let err = '';
      let buf = '';
      let joinedWork: Promise<void> | undefined;
      child.stderr.on('data', (d) => (err += d));
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          let msg: { joined?: boolean; progress?: number; result?: ContenderResult };
          try {
            msg = JSON.parse(line);
          } catch {
            continue;
          }
          if (msg.joined && onJoined && !joinedWork) joinedWork = onJoined().catch((e) => {
              child.kill('SIGKILL');
              reject(e);
            });
          if (msg.progress !== undefined) bar.update(msg.progress);
          if (msg.result) result = msg.result;
        }
      });
      child.on('exit', async (code) => {
        await joinedWork;
        if (code === 0 && result) {
          bar.done(`${Math.round(result.messagesPerSecond).toLocaleString('en-US')} msg/s`);
          resolvePromise(result);
        } else reject(new Error(`contender ${label} failed (exit ${code}): ${err.trim().split('\n').slice(-8).join('\n')}`));
      });
    });
  };

  const row = (contender: string, r: ContenderResult): ContenderRow => ({ contender, messages: r.messages, seconds: r.seconds, messagesPerSecond: r.messagesPerSecond, peakRssBytes: r.peakRssBytes, ...(r.latencyMs ? { latencyMs: r.latencyMs } : {}) });
  const withRatios = (rows: ContenderRow[], baseline: string) => {
    const base = rows.find((r) => r.contender === baseline)?.messagesPerSecond;
    return rows.map((r) => ({ ...r, ...(base ? { ratio: r.messagesPerSecond / base } : {}) }));
  };
  const group = (scenario: string, contender: string) => `bench-${scenario}-${contender}-${runId}`;
  const base = { brokers, timeoutMs: opts.quick ? 120_000 : 900_000 };

  /** The throughput contenders on one topic: raw kafkajs, Partita inline, Partita pool × each worker count, optionally Java. */
  const throughput = async (scenario: string, topic: string, n: number, w: ContenderSpec['work'], extra: Partial<ContenderSpec>, withJava: boolean, profile: boolean) => {
    const rows: ContenderRow[] = [];
    const spec = (kind: ContenderSpec['kind'], name: string, more: Partial<ContenderSpec> = {}): ContenderSpec => ({ ...base, kind, topic, group: group(scenario, name), expect: n, work: w, ...extra, ...more });
    rows.push(row('kafkajs', await runContender(`${scenario} kafkajs`, spec('kafkajs', 'kafkajs'))));
    rows.push(row('partita inline', await runContender(`${scenario} partita inline`, spec('partita', 'inline', { backend: 'inline' }))));
    let profileFile: string | undefined;
    for (const workers of opts.workers) {
      const last = workers === opts.workers.at(-1);
      const dir = profile && last ? join(opts.out, `profile-${runId}`) : undefined;
      if (dir) mkdirSync(dir, { recursive: true });
      rows.push(row(`partita pool ×${workers}`, await runContender(`${scenario} partita pool ×${workers}`, spec('partita', `pool${workers}`, { backend: 'pool', workers }), undefined, dir)));
      if (dir) {
        // The main thread's profile (the fetcher): the largest of the run's files.
        const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
        profileFile = files.sort((a, b) => statSync(b).size - statSync(a).size).find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0];
      }
    }
    if (withJava && opts.java) {
      const bar = progressBar(`${scenario} java ConsumerPerformance`, n);
      const j = await javaConsume(brokers, topic, group(scenario, 'java'), n, base.timeoutMs);
      bar.done(`${Math.round(j.messagesPerSecond).toLocaleString('en-US')} msg/s`);
      rows.push({ contender: 'java ConsumerPerformance', messages: n, seconds: j.seconds, messagesPerSecond: j.messagesPerSecond });
    }
    return { rows, profileFile };
  };

  for (const name of opts.scenarios) {
    console.error(`\n▶ ${name}`);
    const P = opts.partitions;
    if (name === 'passthrough') {
      const payloads: Array<[string, string]> = [
        ['9 B', '{"a":"b"}'], // Karafka's benchmark payload
        ['1 KB', JSON.stringify({ id: 'event-1', body: 'y'.repeat(1024 - 28) })],
      ];
      for (const [label, payload] of payloads) {
        const topic = `bench-pass-${label.replace(' ', '')}-${runId}`;
        await createTopic(topic, P);
        await produceFixed(topic, opts.messages, payload);
        const { rows, profileFile } = await throughput(`passthrough ${label}`, topic, opts.messages, 'none', {}, true, opts.profile && label === '9 B');
        const ratios = withRatios(rows, 'kafkajs');
        const pools = ratios.filter((r) => r.contender.startsWith('partita pool'));
        const best = pools.reduce((a, b) => (b.messagesPerSecond > a.messagesPerSecond ? b : a));
        const s: ScenarioResult = {
          name: `passthrough ${label}`,
          description: `no-op consume of ${Buffer.byteLength(payload)}-byte JSON payloads`,
          baseline: 'kafkajs',
          partitions: P,
          messages: opts.messages,
          rows: ratios,
          targets: [
            check(`best Partita pool (${best.contender}) vs raw kafkajs`, best.ratio ?? 0, 1.0, 'higher', '×'),
            check('best Partita pool vs Karafka 2.x published 88k msg/s', best.messagesPerSecond, 88_000, 'higher', 'msg/s'),
            check('best Partita pool vs Karafka 1.x published 30k msg/s', best.messagesPerSecond, 30_000, 'higher', 'msg/s'),
          ],
          notes: [],
        };
        if (profileFile) {
          doc.profile = summarizeProfile(profileFile);
          s.notes.push(`fetcher (main thread) CPU profile of ${pools.at(-1)!.contender}: ${profileFile}`);
        }
        doc.scenarios.push(s);
      }
    }
    if (name === 'cpu') {
      const rounds = calibrateCpu(50);
      const n = Math.max(1000, Math.round(opts.messages / (opts.quick ? 4 : 5)));
      const topic = `bench-cpu-${runId}`;
      await createTopic(topic, P);
      await produceFixed(topic, n, JSON.stringify({ id: 123456, user: 'u-42', page: '/pricing', ts: 1_700_000_000_000, tags: ['a', 'b', 'c'] }));
      const { rows } = await throughput('cpu', topic, n, 'cpu', { hashRounds: rounds }, false, false);
      const ratios = withRatios(rows, 'partita inline');
      const two = ratios.find((r) => r.contender === 'partita pool ×2');
      doc.scenarios.push({
        name: 'cpu',
        description: `JSON parse + ${rounds} chained sha256 per message (~50 µs, calibrated)`,
        baseline: 'partita inline',
        partitions: P,
        messages: n,
        rows: ratios,
        targets: two ? [check('Partita pool ×2 speed-up over inline', two.ratio ?? 0, 1.7, 'higher', '×')] : [],
        notes: [`${rounds} hash rounds ≈ 50 µs per message on this machine (calibrated at start)`],
      });
    }
    if (name === 'io') {
      const n = Math.max(1000, Math.round(opts.messages / 20));
      const topic = `bench-io-${runId}`;
      await createTopic(topic, P);
      await produceFixed(topic, n, '{"a":"b"}');
      const rows: ContenderRow[] = [];
      const spec = (kind: ContenderSpec['kind'], nm: string, more: Partial<ContenderSpec> = {}): ContenderSpec => ({ ...base, kind, topic, group: group('io', nm), expect: n, work: 'io', ...more });
      rows.push(row('kafkajs', await runContender('io kafkajs', spec('kafkajs', 'kafkajs'))));
      rows.push(row(`partita pool ×${availableParallelism()} (defaults)`, await runContender('io partita pool (defaults)', spec('partita', 'pool', { backend: 'pool', workers: availableParallelism() }))));
      const ratios = withRatios(rows, 'kafkajs');
      const partita = ratios[1]!;
      const perPartition = partita.messagesPerSecond / P;
      doc.scenarios.push({
        name: 'io',
        description: '1 ms of async waiting per message, sequential within a partition',
        baseline: 'kafkajs',
        partitions: P,
        messages: n,
        rows: ratios,
        targets: [],
        notes: [
          `${P} partitions → ${Math.round(partita.messagesPerSecond)} msg/s, ${Math.round(perPartition)} msg/s per partition (1 ms per message caps a partition near 1000/s): 10,000 msg/s needs ≥ ${Math.ceil(10_000 / perPartition)} partitions, 50,000 msg/s ≥ ${Math.ceil(50_000 / perPartition)}`,
        ],
      });
    }
    if (name === 'latency') {
      const n = opts.rate * opts.latencySeconds;
      const rows: ContenderRow[] = [];
      for (const [label, kind, more] of [
        ['kafkajs', 'kafkajs', {}],
        [`partita pool ×${availableParallelism()}`, 'partita', { backend: 'pool', workers: availableParallelism() }],
      ] as const) {
        const topic = `bench-latency-${label.split(' ')[0]}-${runId}`;
        await createTopic(topic, P);
        const producer = kafka.producer();
        await producer.connect();
        const produceAtRate = async () => {
          // `rate` messages per second in 100 sends per second; key = produce time.
          const perTick = Math.max(1, Math.round(opts.rate / 100));
          const start = performance.now();
          for (let sent = 0, tick = 0; sent < n; tick++) {
            const count = Math.min(perTick, n - sent);
            await producer.send({ topic, acks: 1, messages: Array.from({ length: count }, (_, i) => ({ key: String(nowMs()), value: `{"i":${sent + i}}` })) });
            sent += count;
            const wait = start + (tick + 1) * 10 - performance.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          }
        };
        const r = await runContender(`latency ${label}`, { ...base, kind, topic, group: group('latency', label.split(' ')[0]!), expect: n, work: 'latency', ...more }, produceAtRate);
        await producer.disconnect();
        rows.push(row(label, r));
      }
      const partita = rows[1]!;
      doc.scenarios.push({
        name: 'latency',
        description: `produce at ${opts.rate.toLocaleString('en-US')} msg/s for ${opts.latencySeconds} s; produce → consume time per message`,
        baseline: 'kafkajs',
        partitions: P,
        messages: n,
        rows,
        targets: [check(`Partita p99 at ${opts.rate.toLocaleString('en-US')} msg/s`, partita.latencyMs?.p99 ?? Number.NaN, 50, 'lower', 'ms')],
        notes: ['latency = consume time − produce time (both wall clock on this machine, sub-ms precision)'],
      });
    }
    if (name === 'memory') {
      const n = opts.memoryBacklog;
      const topic = `bench-memory-${runId}`;
      await createTopic(topic, P);
      await produceFixed(topic, n, JSON.stringify({ id: 'event', body: 'z'.repeat(80) }));
      const prefetch = 2;
      const maxBytesPerPartition = 1024 * 1024;
      const raw = await runContender('memory kafkajs', { ...base, kind: 'kafkajs', topic, group: group('memory', 'kafkajs'), expect: n, work: 'none' });
      const r = await runContender('memory partita pool', { ...base, kind: 'partita', backend: 'pool', workers: availableParallelism(), topic, group: group('memory', 'pool'), expect: n, work: 'none', prefetch, maxBytesPerPartition });
      const boundMb = (P * (prefetch + 1) * maxBytesPerPartition + 10 * 1024 * 1024) / 2 ** 20;
      const rows = [row('kafkajs', raw), row(`partita pool ×${availableParallelism()}`, r)].map((x) => ({ ...x, ratio: (x.peakRssBytes ?? 0) / (raw.peakRssBytes || 1) }));
      doc.scenarios.push({
        name: 'memory',
        description: `a backlog of ${n.toLocaleString('en-US')} messages consumed by one process; ratio = peak RSS vs raw kafkajs`,
        baseline: 'kafkajs',
        partitions: P,
        messages: n,
        rows,
        targets: [check('peak RSS of the Partita process', r.peakRssBytes / 2 ** 20, 400, 'lower', 'MB')],
        notes: [
          `batch buffers are bounded by configuration, not by the backlog: partitions × (prefetch + 1) × maxBytesPerPartition + one fetch response (maxBytes) = ${P} × ${prefetch + 1} × 1 MiB + 10 MiB ≈ ${Math.round(boundMb)} MiB, on top of the runtime (V8 heaps of ${availableParallelism() + 1} threads) and of kafkajs's own decoding garbage (the raw kafkajs row)`,
        ],
      });
    }
  }

  await admin.disconnect();
  doc.finishedAt = new Date().toISOString();
  mkdirSync(opts.out, { recursive: true });
  const stamp = doc.startedAt.replace(/[:.]/g, '-');
  const jsonFile = join(opts.out, `${stamp}.json`);
  const svgFile = join(opts.out, `${stamp}.svg`);
  writeFileSync(jsonFile, `${JSON.stringify(doc, null, 2)}\n`);
  writeFileSync(svgFile, svgChart(doc));
  console.log(table(doc));
  if (doc.profile) {
    console.log(`\nfetcher thread profile (${doc.profile.totalMs.toFixed(0)} ms): where the time goes`);
    for (const a of doc.profile.byArea.slice(0, 10)) console.log(`  ${(a.share * 100).toFixed(1).padStart(5)}%  ${a.area}`);
    console.log('  top functions (self time):');
    for (const f of doc.profile.topFunctions.slice(0, 10)) console.log(`  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
  }
  console.log(`\nresults: ${jsonFile}\nchart:   ${svgFile}`);
  if (startedBroker) await stopCluster();
}

main().catch(async (err) => {
  console.error(`bench failed: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(1);
});
