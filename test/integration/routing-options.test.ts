/**
 * Route options against the real broker: a fetcher-side filter drops
 * messages before scheduling while their offsets still get committed;
 * startFrom 'latest' skips what was in the topic before the group first
 * joined; a compiled-JS boot file with a JS consumer runs on the pool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { Server, type App } from '../../src/index.ts';
import { createLogger } from '../../src/logger.ts';
import { createTopic, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { ROOT, RECORDING_BOOT, idStats, messageRecords, startAppProcess, tempFile } from '../helpers/app.ts';

async function start(tag: string, env: Record<string, string>) {
  const out = tempFile('records.jsonl');
  Object.assign(process.env, { PARTITA_TEST_OUT: out, PARTITA_TEST_DELAY_MS: '0', PARTITA_TEST_DROP_MOD: '', PARTITA_TEST_START_FROM: '', PARTITA_TEST_SKIP_KEY: '', ...env });
  const app = (await import(`${pathToFileURL(RECORDING_BOOT).href}?${tag}`)).default as App;
  const server = await Server.start({ app, bootFile: RECORDING_BOOT, logger: createLogger({ level: 'warn' }) });
  return { out, server };
}

test('filter drops messages on the fetcher; their offsets are still committed', { timeout: 60_000 }, async () => {
  const topic = unique('filter');
  const group = unique('filter-group');
  await createTopic(topic, 3);
  const produced = await produceIds(topic, 0, 1000);
  const { out, server } = await start('filter', { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: group, PARTITA_TEST_DROP_MOD: '10' });
  try {
    await waitFor(() => messageRecords(out).length >= 900, '900 kept messages', 30_000);
    const committedSum = () => server.status().groups[0]!.partitions.reduce((n, p) => n + (p.committedOffset ?? 0), 0);
    await waitFor(() => committedSum() === 1000, 'all 1000 offsets committed', 15_000).catch((err) => {
      throw new Error(`${err.message}; status: ${JSON.stringify(server.status().groups[0]!.partitions)}`);
    });
  } finally {
    await server.stop();
  }
  const ids = [...idStats(messageRecords(out)).distinct].sort((a, b) => a - b);
  assert.deepEqual(ids, produced.filter((id) => id % 10 !== 0));
});

test("startFrom 'latest': a new group skips the existing backlog and reads what comes after it joined", { timeout: 60_000 }, async () => {
  const topic = unique('latest');
  await createTopic(topic, 2);
  await produceIds(topic, 0, 200);
  const { out, server } = await start('latest', { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: unique('latest-group'), PARTITA_TEST_START_FROM: 'latest' });
  try {
    await waitFor(() => server.ready, 'joined', 30_000);
    // kafkajs resolves 'latest' when it first fetches; give that a moment before producing.
    await new Promise((r) => setTimeout(r, 1500));
    const fresh = await produceIds(topic, 1000, 100);
    await waitFor(() => messageRecords(out).length >= 100, 'the 100 new ids', 30_000);
    assert.deepEqual([...idStats(messageRecords(out)).distinct].sort((a, b) => a - b), fresh);
  } finally {
    await server.stop();
  }
});

test('a compiled-JS boot file and consumer run on the worker pool', { timeout: 60_000 }, async () => {
  const topic = unique('jsboot');
  await createTopic(topic, 2);
  const produced = await produceIds(topic, 0, 300);
  const out = tempFile('records.jsonl');
  const app = startAppProcess({ PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: unique('jsboot-group'), PARTITA_TEST_OUT: out }, ['server', '--boot', join(ROOT, 'test/fixtures/js-app/partita.config.js')]);
  try {
    await waitFor(() => messageRecords(out).length >= 300, '300 records from the JS consumer', 30_000);
  } finally {
    app.child.kill('SIGTERM');
  }
  assert.equal((await app.exited).code, 0, app.output().slice(-1500));
  const records = messageRecords(out);
  assert.deepEqual([...idStats(records).distinct].sort((a, b) => a - b), produced);
  assert.ok(records.every((r) => r.t !== 0), 'ran on worker threads (threadId ≠ 0)');
});
