/**
 * Chaos: 100k messages over 12 partitions, consumed by two app processes
 * while consumers throw at random (transient errors), 20 poison messages
 * always throw, every worker thread exits after 2–4 s (so a thread dies
 * every second or so), and one app process is SIGKILLed and restarted.
 * Afterwards every id that is not poison is processed, every poison message
 * is in the dead-letter topic with correct headers (and none of the good
 * ones), and the duplicate count is reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DLQ_HEADERS } from '../../src/main/dead-letter.ts';
import { createTopic, produceIds, readTopic, unique, waitFor } from '../helpers/kafka.ts';
import { ROOT, idStats, messageRecords, startAppProcess, tempFile } from '../helpers/app.ts';

const FAULTY = join(ROOT, 'test/fixtures/faulty.config.ts');

test('chaos: random errors, poison messages, dying threads, a SIGKILLed process — nothing lost', { timeout: 420_000 }, async () => {
  const topic = unique('chaos');
  const dlq = `${topic}.dlq`;
  await createTopic(topic, 12);
  await createTopic(dlq, 1);
  const total = Number(process.env.CHAOS_MESSAGES ?? 100_000);
  const poison = new Set<number>();
  while (poison.size < 20) poison.add(Math.floor(Math.random() * total));
  const produced = await produceIds(topic, 0, total, {
    perSend: 500,
    value: (id) => JSON.stringify(poison.has(id) ? { id, fail: 'throw' } : Math.random() < 0.003 ? { id, fail: 'once' } : { id }),
  });
  const out = tempFile('records.jsonl');
  const env = {
    PARTITA_TEST_TOPIC: topic,
    PARTITA_TEST_GROUP: unique('chaos-group'),
    PARTITA_TEST_OUT: out,
    PARTITA_TEST_MARKERS: tempFile('markers'),
    PARTITA_TEST_DLQ: dlq,
    PARTITA_TEST_MAX_RETRIES: '2',
    PARTITA_TEST_CHAOS_KILL_MS: '2000',
    PARTITA_TEST_MAX_BYTES: '32768',
  };
  const args = ['server', '--boot', FAULTY];
  const a = startAppProcess(env, args);
  let b = startAppProcess(env, args);
  const done = () => idStats(messageRecords(out)).distinct.size >= total - poison.size;
  try {
    await waitFor(() => messageRecords(out).length >= total * 0.3, '30% processed', 180_000);
    b.child.kill('SIGKILL');
    await b.exited;
    b = startAppProcess(env, args);
    await waitFor(done, 'every good id', 300_000).catch(async (err) => {
      const seen = idStats(messageRecords(out)).distinct;
      const missing = produced.filter((id) => !poison.has(id) && !seen.has(id));
      for (const p of [a, b]) p.child.kill('SIGUSR2');
      await new Promise((r) => setTimeout(r, 500));
      const deadKeys = (await readTopic(dlq, poison.size + missing.length, 5000).catch(() => [])).map((d) => d.key);
      console.log(`# missing ids in the DLQ: ${missing.filter((id) => deadKeys.includes(String(id))).join(',') || 'none'}; DLQ keys: ${deadKeys.join(',')}`);
      throw new Error(`${err.message}; ${missing.length} good ids missing (first: ${missing.slice(0, 10).join(',')}); last log lines:\n${[a, b].map((p) => p.output().trim().split('\n').filter((l) => l.includes('"msg":"status"')).map((l) => l.slice(0, 6000)).join('\n')).join('\n')}`);
    });
  } finally {
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
  }
  await Promise.all([a.exited, b.exited]);

  const records = messageRecords(out);
  const { distinct, duplicates } = idStats(records);
  const good = produced.filter((id) => !poison.has(id));
  assert.deepEqual([...distinct].filter((id) => !poison.has(id)).sort((x, y) => x - y), good, 'every good id processed');
  const leaked = records.filter((r) => poison.has(r.id!));
  assert.equal(leaked.length, 0, `no poison message was ever processed successfully: ${JSON.stringify(leaked.slice(0, 5))}`);

  const dead = await readTopic(dlq, poison.size, 60_000);
  const deadIds = new Set(dead.map((d) => Number(d.key)));
  assert.deepEqual([...deadIds].sort((x, y) => x - y), [...poison].sort((x, y) => x - y), 'exactly the poison messages are dead-lettered');
  for (const d of dead) {
    assert.equal(d.headers[DLQ_HEADERS.topic], topic);
    assert.equal(d.headers[DLQ_HEADERS.errorMessage], `poison ${d.key}`);
    assert.equal(d.headers[DLQ_HEADERS.key], d.key);
    assert.ok(Number(d.headers[DLQ_HEADERS.attempts]) >= 3, 'tried maxRetries + 1 times');
    assert.equal(JSON.parse(d.value!).id, Number(d.key));
  }
  console.log(`# chaos: ${total} messages, ${duplicates} duplicates processed, ${dead.length - deadIds.size} duplicate dead letters, ${poison.size} poison messages dead-lettered`);
});
