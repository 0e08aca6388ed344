/**
 * One source for defaults: DEFAULTS (src/config/defaults.ts) is what
 * resolveConfig fills in, README's configuration table and the `@default`
 * tags of the config types must say the same, both ways.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { Consumer, createApp, DEFAULTS } from '../../src/index.ts';
import { ROOT } from '../helpers/app.ts';

type Section = keyof typeof DEFAULTS;

/** A default as README and the JSDoc tags write it. */
function format(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'object' && v !== null) return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${format(x)}`).join(', ')} }`;
  return String(v);
}

function lookup(section: Section, key: string): unknown {
  return (DEFAULTS[section] as Record<string, unknown>)[key];
}

/** Every default as `section.key` → formatted value. */
const expected = new Map<string, string>(Object.entries(DEFAULTS).flatMap(([section, values]) => Object.entries(values).map(([k, v]) => [`${section}.${k}`, format(v)] as const)));

/** README's configuration table: option cell → default cell. */
function readmeRows(): Array<{ option: string; def: string }> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n### Configuration'), readme.indexOf('\n## CLI'));
  return [...section.matchAll(/^\| (.+?) \| (.+?) \| .*\|$/gm)].filter((m) => m[1] !== 'option' && !m[1]!.startsWith('---')).map((m) => ({ option: m[1]!, def: m[2]! }));
}

/** `section.key` for a README option cell, or undefined for options without a section default. */
function keyOf(option: string): string | undefined {
  const qualified = /^(group|topic|kafkaTopic|deadLetter) `(\w+)`$/.exec(option);
  if (qualified) return `${qualified[1]}.${qualified[2]}`;
  const dotted = /^`(kafka|http|producer|metrics|threadMemory)\.(\w+)`$/.exec(option);
  if (dotted) return `${dotted[1]}.${dotted[2]}`;
  const top = /^`(\w+)`$/.exec(option);
  if (top) return `app.${top[1]}`;
  return undefined;
}

test("README's configuration table gives exactly the defaults in DEFAULTS", () => {
  const rows = readmeRows();
  assert.ok(rows.length > 40, `read ${rows.length} rows`);
  const seen = new Set<string>();
  const wrong: string[] = [];
  for (const { option, def } of rows) {
    const key = keyOf(option);
    const literal = /^`(.+)`$/.exec(def)?.[1];
    if (key && expected.has(key)) {
      seen.add(key);
      if (literal !== expected.get(key)) wrong.push(`${option}: README says ${def}, DEFAULTS says ${expected.get(key)}`);
    } else if (literal !== undefined) wrong.push(`${option}: README gives default ${def}, DEFAULTS has none`);
  }
  for (const key of expected.keys()) if (!seen.has(key)) wrong.push(`${key} (${expected.get(key)}) is not in README's table`);
  assert.deepEqual(wrong, []);
});

test('the @default tags of the config types say what DEFAULTS says', () => {
  const sections: Record<string, Section> = {
    KafkaConfig: 'kafka',
    AppConfig: 'app',
    HttpConfig: 'http',
    ProducerConfig: 'producer',
    MetricsConfig: 'metrics',
    ThreadMemoryConfig: 'threadMemory',
    GroupSettings: 'group',
    TopicOptions: 'topic',
    DeadLetterOptions: 'deadLetter',
    KafkaTopicDeclaration: 'kafkaTopic',
  };
  const tagged = new Set<string>();
  const wrong: string[] = [];
  for (const file of ['src/config/schema.ts', 'src/kafka/types.ts']) {
    const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
    source.forEachChild((node) => {
      if (!ts.isInterfaceDeclaration(node) || !(node.name.text in sections)) return;
      const section = sections[node.name.text]!;
      for (const member of node.members) {
        if (!ts.isPropertySignature(member)) continue;
        const name = member.name.getText(source);
        const tag = ts.getJSDocTags(member).find((t) => t.tagName.text === 'default');
        const text = typeof tag?.comment === 'string' ? tag.comment.trim() : undefined;
        const value = lookup(section, name);
        if (value === undefined) {
          // Prose is fine (`none`, `os.availableParallelism()`); a literal would be a second source.
          if (text !== undefined && /^(\d+|true|false|'.*'|\{.*\})$/.test(text)) wrong.push(`${node.name.text}.${name}: @default ${text}, DEFAULTS has none`);
          continue;
        }
        tagged.add(`${section}.${name}`);
        if (text !== format(value)) wrong.push(`${node.name.text}.${name}: @default ${text ?? '(missing)'}, DEFAULTS says ${format(value)}`);
      }
    });
  }
  for (const key of expected.keys()) if (!tagged.has(key)) wrong.push(`${key}: no property with a @default tag`);
  assert.deepEqual(wrong, []);
});

test('resolveConfig fills in DEFAULTS', () => {
  class Noop extends Consumer {
    consume(): void {}
  }
  const app = createApp({ kafka: { brokers: ['127.0.0.1:9092'] }, topics: { t: { consumer: Noop, kafkaTopic: { partitions: 1 }, deadLetter: { topic: 't-dlq' } } } });
  const { config } = app;
  assert.deepEqual(
    { clientId: config.kafka.clientId, connectionTimeoutMs: config.kafka.connectionTimeoutMs, requestTimeoutMs: config.kafka.requestTimeoutMs, connectRetries: config.kafka.connectRetries },
    DEFAULTS.kafka,
  );
  assert.equal(config.shutdownTimeoutMs, DEFAULTS.app.shutdownTimeoutMs);
  assert.deepEqual(config.http, DEFAULTS.http);
  assert.deepEqual({ ...config.producer, serializers: undefined }, { ...DEFAULTS.producer, serializers: undefined });
  assert.deepEqual(config.metrics, DEFAULTS.metrics);
  const group = config.groups[0]!;
  assert.deepEqual(group.settings, DEFAULTS.group);
  assert.deepEqual(group.kafka, { ...config.kafka });
  const topic = group.topics[0]!;
  for (const [k, v] of Object.entries(DEFAULTS.topic)) assert.equal(topic[k as keyof typeof topic], v, `topic ${k}`);
  assert.deepEqual(topic.deadLetter, { topic: 't-dlq', ...DEFAULTS.deadLetter });
  assert.equal(topic.kafkaTopic?.replicationFactor, DEFAULTS.kafkaTopic.replicationFactor);
});
