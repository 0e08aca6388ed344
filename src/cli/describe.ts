/**
 * Text for `partita routes`, `flow` and `info`: what the boot file declares,
 * sorted so the output is stable (diffable in reviews, testable).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { App } from '../app/app.ts';
import type { ConsumerGroupRoute, TopicRoute } from '../config/resolve.ts';

const require = createRequire(import.meta.url);

function sortedGroups(app: App): ConsumerGroupRoute[] {
  return [...app.consumerGroups].sort((a, b) => a.name.localeCompare(b.name));
}

function sortedTopics(g: ConsumerGroupRoute): TopicRoute[] {
  return [...g.topics].sort((a, b) => a.topic.localeCompare(b.topic));
}

function nameOf(f: unknown): string {
  return typeof f === 'function' ? f.name || '(anonymous)' : String(f);
}

/** `partita routes`: every group with its settings, every topic with its consumer and options. */
export function describeRoutes(app: App): string[] {
  const lines: string[] = [];
  for (const g of sortedGroups(app)) {
    const s = g.settings;
    lines.push(`${g.name}`);
    lines.push(`  settings: prefetch ${s.prefetch}, commitIntervalMs ${s.commitIntervalMs}, sessionTimeoutMs ${s.sessionTimeoutMs}, maxBytesPerPartition ${s.maxBytesPerPartition}, retryBackoff ${s.retryBackoff.initialMs}-${s.retryBackoff.maxMs} ms`);
    lines.push(`  brokers: ${g.kafka.brokers.join(',')}`);
    for (const t of sortedTopics(g)) {
      lines.push(`  ${t.topic}${t.active ? '' : ' (inactive)'}`);
      const opts: Array<[string, string]> = [
        ['consumer', nameOf(t.consumer)],
        ['backend', t.backend],
        ['deserializer', typeof t.deserializer === 'function' ? `custom (${nameOf(t.deserializer)})` : t.deserializer],
        ['startFrom', t.startFrom],
        ['manualOffsets', String(t.manualOffsets)],
      ];
      if (t.filter) opts.push(['filter', 'yes']);
      if (t.timeoutMs !== undefined) opts.push(['timeoutMs', String(t.timeoutMs)]);
      if (t.eofed) opts.push(['eofed', 'true']);
      if (t.parallel) opts.push(['parallel', `max ${t.parallel.max} by ${t.parallel.by === 'key' ? 'key' : `custom (${nameOf(t.parallel.by)})`}, ${t.parallel.distribution}, over ${t.parallel.threads} thread(s)`]);
      if (t.retryBackoff.initialMs !== s.retryBackoff.initialMs || t.retryBackoff.maxMs !== s.retryBackoff.maxMs) opts.push(['retryBackoff', `${t.retryBackoff.initialMs}-${t.retryBackoff.maxMs} ms`]);
      if (t.deadLetter) opts.push(['deadLetter', `${t.deadLetter.topic} (maxRetries ${t.deadLetter.maxRetries}${t.deadLetter.retryMalformed ? ', retries malformed' : ''})`]);
      if (t.responder) opts.push(['responder', `${nameOf(t.responder)} → ${t.responder.topics.map((x) => x.name).join(', ') || '(no topics)'}`]);
      if (t.kafkaTopic) opts.push(['kafkaTopic', `${t.kafkaTopic.partitions} partition(s), replication ${t.kafkaTopic.replicationFactor}${Object.keys(t.kafkaTopic.config).length ? `, ${Object.entries(t.kafkaTopic.config).map(([k, v]) => `${k}=${v}`).join(', ')}` : ''}`]);
      const width = Math.max(...opts.map(([k]) => k.length));
      for (const [k, v] of opts) lines.push(`    ${`${k}:`.padEnd(width + 1)} ${v}`);
    }
  }
  return lines;
}

/** `partita flow`: incoming topic → outgoing topics, from the responders' contracts. */
export function describeFlow(app: App): string[] {
  const lines: string[] = [];
  for (const g of sortedGroups(app)) {
    for (const t of sortedTopics(g)) {
      lines.push(`${t.topic} (${g.name}) → ${nameOf(t.consumer)}${t.active ? '' : ' [inactive]'}`);
      const outs = [...(t.responder?.topics ?? [])].sort((a, b) => a.name.localeCompare(b.name));
      if (outs.length === 0) lines.push('  (no responder)');
      const width = Math.max(0, ...outs.map((o) => o.name.length));
      outs.forEach((o, i) => {
        const branch = i === outs.length - 1 ? '└─' : '├─';
        lines.push(`  ${branch} ${o.name.padEnd(width)}  (${o.required ? 'always' : 'conditionally'}, ${o.multipleUsage ? 'many' : 'exactly once'}${o.async ? ', async' : ''})`);
      });
      if (t.deadLetter) lines.push(`  dead letters → ${t.deadLetter.topic}`);
    }
  }
  return lines;
}

const SECRET_KEY = /pass(word|phrase)?|secret|token|credential|^key$|private|pfx|cert$/i;

/** A JSON-able copy of a config with secrets replaced and code shown by name. */
export function maskSecrets(value: unknown, key = ''): unknown {
  if (typeof value === 'function') return `[${value.name || 'function'}]`;
  if (value === null || typeof value !== 'object') {
    return SECRET_KEY.test(key) && value !== undefined && value !== '' ? '********' : value;
  }
  if (Buffer.isBuffer(value)) return SECRET_KEY.test(key) ? '********' : `[Buffer ${value.length} bytes]`;
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, key));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && (typeof v !== 'object' || v === null || Buffer.isBuffer(v)) ? (v === undefined ? v : '********') : maskSecrets(v, k);
  return out;
}

/** A dependency's version, from the package.json above its entry point (some packages do not export their package.json). */
function versionOf(pkg: string): string {
  try {
    let dir = dirname(require.resolve(pkg));
    for (let i = 0; i < 6; i++, dir = dirname(dir)) {
      const file = join(dir, 'package.json');
      if (existsSync(file)) {
        const meta = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (meta.name === pkg && meta.version) return meta.version;
      }
    }
  } catch {
    // not installed
  }
  return 'unknown';
}

/** `partita info`: versions, then the resolved config with secrets masked. */
export function describeInfo(app: App, bootFile: string, kafkaVersion: string | undefined): string[] {
  const own = require('../../package.json') as { version: string };
  const versions: Array<[string, string]> = [
    ['partita', own.version],
    ['node', process.versions.node],
    ['kafkajs', versionOf('kafkajs')],
    ['piscina', versionOf('piscina')],
    ['msgpackr', versionOf('msgpackr')],
    ['prom-client', versionOf('prom-client')],
    ['fastify', versionOf('fastify')],
    // Only in a checkout of the repository (its local-broker scripts).
    ...(kafkaVersion ? [['local Kafka (scripts/kafka)', kafkaVersion] as [string, string]] : []),
  ];
  const width = Math.max(...versions.map(([k]) => k.length));
  return [
    ...versions.map(([k, v]) => `${k.padEnd(width)}  ${v}`),
    '',
    `boot file  ${bootFile}`,
    `groups     ${app.consumerGroups.map((g) => g.name).join(', ')}`,
    '',
    'config (secrets masked):',
    JSON.stringify(maskSecrets(app.config), null, 2),
  ];
}
