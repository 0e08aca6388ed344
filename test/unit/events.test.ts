/**
 * The instrumentation bus on its own: README lists exactly the events the
 * code emits, listeners subscribe and unsubscribe, a throwing listener is
 * reported once and does not stop the others, diagnostics_channel gets
 * every event.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_NAMES, Instrumentation } from '../../src/index.ts';
import { ROOT } from '../helpers/app.ts';

test("README's event table lists exactly the events in EVENT_NAMES", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n### Instrumentation events'), readme.indexOf('\n## Benchmarks'));
  const documented = [...section.matchAll(/^\| (`[a-z_.]+`(?:, `[a-z_.]+`)*) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`([a-z_.]+)`/g)].map((x) => x[1]!));
  assert.deepEqual([...documented].sort(), [...EVENT_NAMES].sort());
});

test('listeners get payloads, unsubscribe, and a throwing one is reported once without stopping the others', () => {
  const bus = new Instrumentation();
  const errors: string[] = [];
  bus.onListenerError = (name, err) => errors.push(`${name}: ${(err as Error).message}`);
  const got: number[] = [];
  bus.on('fetch.completed', () => {
    throw new Error('broken');
  });
  const off = bus.on('fetch.completed', (e) => got.push(e.durationMs));
  const fromChannel: unknown[] = [];
  const onChannel = (m: unknown) => fromChannel.push(m);
  diagnosticsChannel.subscribe('partita:fetch.completed', onChannel);
  try {
    bus.emit('fetch.completed', { group: 'g', durationMs: 1 });
    bus.emit('fetch.completed', { group: 'g', durationMs: 2 });
    off();
    bus.emit('fetch.completed', { group: 'g', durationMs: 3 });
  } finally {
    diagnosticsChannel.unsubscribe('partita:fetch.completed', onChannel);
  }
  assert.deepEqual(got, [1, 2]);
  assert.deepEqual(errors, ['fetch.completed: broken']);
  assert.deepEqual(fromChannel, [
    { group: 'g', durationMs: 1 },
    { group: 'g', durationMs: 2 },
    { group: 'g', durationMs: 3 },
  ]);
});
