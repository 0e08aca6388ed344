/**
 * `partita swarm` against the real broker: three processes share a topic and
 * consume every id; one SIGKILLed is replaced and nothing is lost; SIGTERM to
 * the supervisor stops all of them with exit 0 and every partition committed
 * (read back from Kafka); the one endpoint's aggregated metrics pass
 * promtool. A process that cannot start fails the swarm loudly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { commitsVsLogEnd, createTopic, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { httpUrlOf, idStats, messageRecords, RECORDING_BOOT, ROOT, runCli, startAppProcess, tempFile } from '../helpers/app.ts';
import { promtoolCheckMetrics } from '../helpers/prometheus.ts';

const CRASH_BOOT = join(ROOT, 'test/fixtures/swarm-crash.config.ts');

interface SwarmStatus {
  swarm: boolean;
  state: string;
  ready: boolean;
  processes: Array<{ index: number; pid: number | null; state: string; restarts: number; lastExit?: string; status: { processedMessages: number; groups: Array<{ assignment: Record<string, number[]> }> } | null }>;
}

async function getJson<T>(url: string): Promise<{ code: number; body: T }> {
  const res = await fetch(url);
  return { code: res.status, body: (await res.json()) as T };
}

test('a swarm of 3 consumes every id; a SIGKILLed process is replaced, nothing lost; SIGTERM stops all with exit 0 and every partition committed', { timeout: 300_000 }, async () => {
  const topic = unique('swarm');
  const group = unique('swarm-group');
  const out = tempFile('records.jsonl');
  await createTopic(topic, 6);
  await produceIds(topic, 0, 12_000);
  const env = { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: group, PARTITA_TEST_OUT: out, PARTITA_TEST_CONCURRENCY: '1', PARTITA_TEST_BUSY_US: '300' };
  const swarm = startAppProcess(env, ['swarm', '--processes', '3', '--boot', RECORDING_BOOT]);
  try {
    await waitFor(() => httpUrlOf(swarm) !== undefined, 'the swarm endpoint is up', 60_000, 200);
    const url = httpUrlOf(swarm)!;
    // Ready: every process runs and has joined the group.
    await waitFor(async () => (await fetch(`${url}/ready`)).status === 200, 'the swarm is ready', 120_000, 500);
    const health = await getJson<{ status: string }>(`${url}/health`);
    assert.equal(health.code, 200, JSON.stringify(health.body));
    const seen = () => idStats(messageRecords(out)).distinct.size;
    // Mid-backlog: the process killed below has batches in flight.
    await waitFor(() => seen() >= 4000, 'a third of the backlog consumed', 120_000, 100);

    // Kafka's group shared the 6 partitions among the 3 processes.
    const before = (await getJson<SwarmStatus>(`${url}/status`)).body;
    assert.equal(before.swarm, true);
    assert.deepEqual(before.processes.map((p) => p.state), ['running', 'running', 'running']);
    const owned = before.processes.flatMap((p) => p.status!.groups.flatMap((g) => g.assignment[topic] ?? []));
    assert.deepEqual(owned.sort(), [0, 1, 2, 3, 4, 5], `every partition owned by one process: ${JSON.stringify(before.processes.map((p) => p.status?.groups))}`);

    const victim = before.processes[1]!.pid!;
    process.kill(victim, 'SIGKILL');
    await produceIds(topic, 12_000, 6000);
    await waitFor(
      async () => {
        const p = (await getJson<SwarmStatus>(`${url}/status`)).body.processes[1]!;
        return p.state === 'running' && p.restarts === 1 && p.pid !== victim;
      },
      'process 1 replaced and running again',
      120_000,
      500,
    );
    const after = (await getJson<SwarmStatus>(`${url}/status`)).body.processes[1]!;
    assert.equal(after.lastExit, 'killed by SIGKILL');
    await waitFor(() => seen() >= 18_000, 'every id, also those produced after the kill', 180_000, 250);
    assert.deepEqual(
      [...idStats(messageRecords(out)).distinct].sort((a, b) => a - b),
      Array.from({ length: 18_000 }, (_, i) => i),
      'no id lost',
    );

    // One exposition for the swarm: valid, counters summed, gauges per process, restarts counted.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const lint = promtoolCheckMetrics(metrics);
    assert.equal(lint.code, 0, `promtool check metrics: ${lint.output}`);
    for (const i of [0, 1, 2]) assert.match(metrics, new RegExp(`nodejs_heap_size_used_bytes\\{[^}]*thread="main"[^}]*process="${i}"`), `process ${i}'s gauges are labelled`);
    assert.match(metrics, /^partita_swarm_restarts_total\{process="1"\} 1$/m);
    assert.match(metrics, /^partita_swarm_processes\{state="running"\} 3$/m);
    const consumed = [...metrics.matchAll(/^partita_messages_consumed_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    // The SIGKILLed process's own count is gone with it (counters restart with the process).
    assert.ok(consumed > 6000 && consumed <= 18_000 + 12_000, `consumed in the aggregated counter: ${consumed}`);

    // Let the last commits land, then one SIGTERM to the supervisor stops every process gracefully.
    await waitFor(async () => (await commitsVsLogEnd(group, topic)).every((o) => o.committed === o.logEnd), 'commits reach the log end', 60_000, 500);
    swarm.child.kill('SIGTERM');
    const { code } = await swarm.exited;
    assert.equal(code, 0, swarm.output().slice(-4000));
    assert.match(swarm.output(), /swarm stopped: all 3 processes stopped cleanly/);
    assert.equal(swarm.output().match(/final commits verified in Kafka/g)?.length, 3, 'each running process verified its final commits');
    for (const o of await commitsVsLogEnd(group, topic)) assert.equal(o.committed, o.logEnd, `partition ${o.partition} committed up to its log end (read back from Kafka)`);
  } finally {
    swarm.child.kill('SIGKILL');
  }
});

test('a process that keeps exiting before its server starts fails the swarm loudly: the others stop, exit 1', { timeout: 120_000 }, async () => {
  const topic = unique('swarm-crash');
  await createTopic(topic, 2);
  const env = { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: unique('swarm-crash-group'), PARTITA_TEST_OUT: tempFile('records.jsonl'), PARTITA_TEST_CONCURRENCY: '1' };
  const { code, output } = await runCli(['swarm', '--processes', '2', '--max-start-crashes', '3', '--no-http', '--boot', CRASH_BOOT], env);
  assert.equal(code, 1, output.slice(-4000));
  assert.match(output, /SWARM_CRASH_LOOP/);
  assert.match(output, /process 1 is not restarted: it exited 3 times in a row before its server started \(last: exit 1\)/);
  assert.equal(output.match(/process 1 \(pid \d+\) exited unexpectedly/g)?.length, 2, 'restarted twice before giving up');
  assert.match(output, /process 0 \(pid \d+\) stopped: exit 0/, 'the healthy process was stopped gracefully');
});

test('usage errors and an unknown consumer group exit 2 before any process starts', { timeout: 60_000 }, async () => {
  const zero = await runCli(['swarm', '--processes', '0', '--boot', RECORDING_BOOT]);
  assert.equal(zero.code, 2, zero.output);
  assert.match(zero.output, /--processes must be a whole number from 1 to 256, got "0"/);
  const unknown = await runCli(['swarm', '--processes', '2', '--consumer-groups', 'nope', '--boot', RECORDING_BOOT]);
  assert.equal(unknown.code, 2, unknown.output);
  assert.match(unknown.output, /UNKNOWN_CONSUMER_GROUP/);
  assert.doesNotMatch(unknown.output, /process 0 started/);
});

test('a supervisor killed without stopping its processes: each sees its IPC channel close and stops gracefully', { timeout: 120_000 }, async () => {
  const topic = unique('swarm-orphan');
  await createTopic(topic, 2);
  const env = { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: unique('swarm-orphan-group'), PARTITA_TEST_OUT: tempFile('records.jsonl'), PARTITA_TEST_CONCURRENCY: '1' };
  const swarm = startAppProcess(env, ['swarm', '--processes', '2', '--boot', RECORDING_BOOT]);
  await waitFor(() => httpUrlOf(swarm) !== undefined, 'the swarm endpoint is up', 60_000, 200);
  const url = httpUrlOf(swarm)!;
  await waitFor(async () => (await fetch(`${url}/ready`)).status === 200, 'the swarm is ready', 120_000, 500);
  const pids = (await getJson<SwarmStatus>(`${url}/status`)).body.processes.map((p) => p.pid!);
  swarm.child.kill('SIGKILL');
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  try {
    await waitFor(() => pids.every((pid) => !alive(pid)), 'both processes ended on their own', 60_000, 250);
    assert.equal(swarm.output().match(/the swarm supervisor is gone/g)?.length, 2, swarm.output().slice(-3000));
    assert.equal(swarm.output().match(/final commits verified in Kafka/g)?.length, 2, 'each stopped gracefully');
  } finally {
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
});

test("the swarm's endpoint serves the status page, with its security headers", { timeout: 60_000 }, async () => {
  const topic = unique('swarm-page');
  await createTopic(topic, 1);
  const env = { PARTITA_TEST_TOPIC: topic, PARTITA_TEST_GROUP: unique('swarm-page-group'), PARTITA_TEST_OUT: tempFile('records.jsonl'), PARTITA_TEST_CONCURRENCY: '1' };
  const swarm = startAppProcess(env, ['swarm', '--processes', '1', '--boot', RECORDING_BOOT]);
  try {
    await waitFor(() => httpUrlOf(swarm) !== undefined, 'the swarm endpoint is up', 60_000, 200);
    const res = await fetch(`${httpUrlOf(swarm)!}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.match(await res.text(), /fetch\('status'/);
  } finally {
    swarm.child.kill('SIGTERM');
    await swarm.exited;
  }
});
