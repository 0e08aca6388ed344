/**
 * Producing and responders against the real broker: a consumer answering to
 * two topics through its responder (keys, headers, per-topic serializer,
 * sync and async topics); a worker thread dying after its output was
 * acknowledged but before the commit (output repeats, never goes missing);
 * contract violations send nothing and are dead-lettered with their code;
 * app.producer on the main thread in both modes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createTopic, produceIds, readTopic, unique, waitFor } from '../helpers/kafka.ts';
import { ROOT, startServer, tempFile } from '../helpers/app.ts';
import type { App } from '../../src/index.ts';

const BOOT = join(ROOT, 'test/fixtures/responding.config.ts');

function counts(values: Array<string | null>): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) m.set(v!, (m.get(v!) ?? 0) + 1);
  return m;
}

test('a consumer responds to two topics; a thread dying between produce and commit repeats output but loses none', { timeout: 180_000 }, async () => {
  const topic = unique('respond-in');
  const outA = unique('respond-a');
  const outB = unique('respond-b');
  const marker = tempFile('crashed');
  await Promise.all([createTopic(topic, 4), createTopic(outA, 3), createTopic(outB, 1)]);
  const N = 3000;
  const server = await startServer(BOOT, 'respond', {
    PARTITA_TEST_TOPIC: topic,
    PARTITA_TEST_GROUP: unique('respond-group'),
    PARTITA_TEST_OUT_A: outA,
    PARTITA_TEST_OUT_B: outB,
    PARTITA_TEST_CRASH_ID: '1234',
    PARTITA_TEST_CRASH_FILE: marker,
    PARTITA_TEST_VIOLATE_IDS: '',
    PARTITA_TEST_DLQ: '',
  });
  try {
    await produceIds(topic, 0, N);
    const a = await readTopic(outA, N, 90_000);
    assert.ok(existsSync(marker), 'the worker thread died after answering the batch with id 1234');
    const ids = counts(a.map((m) => m.key));
    for (let id = 0; id < N; id++) assert.ok(ids.has(String(id)), `id ${id} answered on ${outA}`);
    assert.ok(ids.get('1234')! >= 2, 'the batch whose commit was lost was answered again');
    for (const m of a) {
      assert.deepEqual(JSON.parse(m.value!), { id: Number(m.key) });
      assert.match(m.headers['origin-offset']!, /^\d+$/);
    }
    const b = await readTopic(outB, N / 3, 60_000);
    const bIds = counts(b.map((m) => m.key));
    for (let id = 0; id < N; id += 3) assert.ok(bIds.has(String(id)), `id ${id} answered on ${outB}`);
    assert.ok(b.every((m) => Number(m.key) % 3 === 0 && m.value === `id-${m.key}`), 'string serializer for outB, only ids divisible by 3');
    assert.ok(server.status().threadsLost >= 1);
    console.log(`# respond: ${a.length - N} repeated answers on ${outA} after the thread death`);
  } finally {
    await server.stop();
  }
});

test('responder contract violations send nothing: the batch fails, the offending message is dead-lettered with RESPONDER_CONTRACT', { timeout: 180_000 }, async () => {
  const topic = unique('violate-in');
  const outA = unique('violate-a');
  const outB = unique('violate-b');
  const dlq = unique('violate-dlq');
  await Promise.all([createTopic(topic, 2), createTopic(outA, 1), createTopic(outB, 1), createTopic(dlq, 1)]);
  const N = 400;
  const server = await startServer(BOOT, 'violate', {
    PARTITA_TEST_TOPIC: topic,
    PARTITA_TEST_GROUP: unique('violate-group'),
    PARTITA_TEST_OUT_A: outA,
    PARTITA_TEST_OUT_B: outB,
    PARTITA_TEST_CRASH_FILE: '',
    PARTITA_TEST_VIOLATE_IDS: '17,250',
    PARTITA_TEST_DLQ: dlq,
    PARTITA_TEST_BACKEND: 'inline',
  });
  try {
    await produceIds(topic, 0, N);
    const dead = await readTopic(dlq, 2, 90_000);
    assert.deepEqual(dead.map((m) => m.key).sort(), ['17', '250']);
    for (const m of dead) {
      assert.equal(m.headers['partita-error-code'], 'RESPONDER_CONTRACT');
      assert.match(m.headers['partita-error-message']!, /topic "not-declared-anywhere" is not declared in IdsResponder\.topics/);
    }
    const a = await readTopic(outA, N - 2, 60_000);
    const ids = counts(a.map((m) => m.key));
    assert.ok(!ids.has('17') && !ids.has('250'), 'nothing was sent for the violating messages');
    for (let id = 0; id < N; id++) if (id !== 17 && id !== 250) assert.ok(ids.has(String(id)), `id ${id} answered`);
  } finally {
    await server.stop();
  }
});

test('app.producer on the main thread: sync waits for the acknowledgement, async buffers and flush() waits', { timeout: 60_000 }, async () => {
  const out = unique('app-producer');
  await createTopic(out, 2);
  process.env.PARTITA_TEST_OUT_B = out;
  const app = (await import(`${BOOT}?app-producer`)).default as App;
  try {
    const reports = await app.producer.produceSync([
      { topic: out, key: 'k1', value: 'plain text', headers: { h: 'v' }, partition: 1 },
      { topic: out, key: 'k2', value: { json: true }, serializer: 'json', partition: 1 },
    ]);
    assert.equal(reports.length, 1);
    assert.equal(reports[0]!.partition, 1);
    for (let i = 0; i < 50; i++) void app.producer.produceAsync({ topic: out, key: `a${i}`, value: `async-${i}` });
    await app.producer.flush();
    const got = await readTopic(out, 52, 30_000);
    assert.equal(got.length, 52);
    const k1 = got.find((m) => m.key === 'k1')!;
    assert.equal(k1.value, 'plain text'); // the topic's string serializer
    assert.equal(k1.headers.h, 'v');
    assert.equal(got.find((m) => m.key === 'k2')!.value, '{"json":true}'); // per-message serializer wins
    await assert.rejects(app.producer.produceSync({ topic: '', value: 1 }), (err: Error & { code?: string }) => err.code === 'PRODUCE_FAILED' && /needs a topic/.test(err.message));
  } finally {
    await app.producer.disconnect();
  }
});
