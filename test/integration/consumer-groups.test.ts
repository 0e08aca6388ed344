/**
 * `partita server --consumer-groups a` runs only group a (another process can
 * run group b: groups scale independently), and an inactive topic is declared
 * but never consumed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTopic, kafka, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { ROOT, idStats, messageRecords, startAppProcess, tempFile } from '../helpers/app.ts';

test('--consumer-groups runs only the named groups; inactive topics are not consumed', { timeout: 90_000 }, async () => {
  const [ta, tb, tc] = [unique('groups-a'), unique('groups-b'), unique('groups-c')];
  const [ga, gb] = [unique('ga'), unique('gb')];
  for (const t of [ta, tb, tc]) await createTopic(t, 2);
  const producedA = await produceIds(ta, 0, 200);
  await produceIds(tb, 1000, 200);
  await produceIds(tc, 2000, 200);
  const out = tempFile('records.jsonl');
  const app = startAppProcess(
    { PARTITA_TEST_OUT: out, PARTITA_TEST_GROUP_A: ga, PARTITA_TEST_GROUP_B: gb, PARTITA_TEST_TOPIC_A: ta, PARTITA_TEST_TOPIC_B: tb, PARTITA_TEST_TOPIC_C: tc },
    ['server', '--boot', join(ROOT, 'test/fixtures/two-groups.config.ts'), '--consumer-groups', ga],
  );
  try {
    await waitFor(() => messageRecords(out).length >= 200, 'group a consumed its topic', 60_000);
    await sleep(2000);
  } finally {
    app.child.kill('SIGTERM');
  }
  assert.equal((await app.exited).code, 0, app.output().slice(-1500));
  const records = messageRecords(out);
  assert.deepEqual(new Set(records.map((r) => r.topic)), new Set([ta]), 'only group a\'s active topic was consumed');
  assert.deepEqual([...idStats(records).distinct].sort((x, y) => x - y), producedA);
  const admin = kafka().admin();
  await admin.connect();
  const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
  await admin.disconnect();
  assert.ok(groups.includes(ga) && !groups.includes(gb), 'group b never joined');
});
