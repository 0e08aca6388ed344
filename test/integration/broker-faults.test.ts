/**
 * Broker trouble during consumption, each on a cluster of its own (other
 * ports, so the suite's broker is untouched): a single broker restarted, and
 * one broker of three killed (partition leaders and possibly the group
 * coordinator move). Consumption resumes by itself; every id is processed,
 * and a graceful stop afterwards, on the cluster as the fault left it (one
 * broker still down), ends without a false COMMIT_UNVERIFIED; the read-back
 * of committed offsets works while a partition of another topic has no leader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCluster, startNode, stopCluster, stopNode } from '../../scripts/kafka/broker.ts';
import { createTopic, kafka, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { verifyCommitted } from '../../src/kafka/committed.ts';
import { createLogger } from '../../src/logger.ts';
import { RECORDING_BOOT, fatalErrors, idStats, messageRecords, startServer, tempFile } from '../helpers/app.ts';

async function consumeThrough(name: string, partitions: number, replication: number, fault: () => Promise<void>) {
  const topic = unique(name);
  await createTopic(topic, partitions, replication);
  const produced = await produceIds(topic, 0, 20_000, { perSend: 200 });
  const out = tempFile('records.jsonl');
  const server = await startServer(RECORDING_BOOT, name, {
    PARTITA_TEST_TOPIC: topic,
    PARTITA_TEST_GROUP: unique(`${name}-group`),
    PARTITA_TEST_OUT: out,
    PARTITA_TEST_DELAY_MS: '10',
    PARTITA_TEST_MAX_BYTES: '16384',
  });
  try {
    await waitFor(() => messageRecords(out).length >= 3000, '3000 processed before the fault', 60_000);
    await fault();
    await waitFor(() => idStats(messageRecords(out)).distinct.size >= produced.length, 'every id after the fault', 150_000).catch((err) => {
      const seen = idStats(messageRecords(out)).distinct;
      const fatal = fatalErrors.map((e) => `${e.message} (cause: ${String((e.cause as Error)?.stack ?? e.cause)})`).join('; ');
      throw new Error(`${err.message}; ${produced.length - seen.size} missing; fatal: ${fatal || 'none'}; status: ${JSON.stringify(server.status())}`);
    });
  } catch (err) {
    await server.stop().catch(() => {});
    throw err;
  }
  // A graceful stop on the cluster as the fault left it: its final commits are verified, or (Kafka
  // not readable yet) acknowledged; never COMMIT_UNVERIFIED for commits the coordinator took.
  const stopped = await server.stop().then(
    () => null,
    (err: unknown) => err as Error,
  );
  assert.equal(stopped, null, `graceful stop after the fault: ${stopped?.message}`);
  const { distinct, duplicates } = idStats(messageRecords(out));
  assert.deepEqual([...distinct].sort((a, b) => a - b), produced);
  return duplicates;
}

test('single broker down for longer than kafkajs retries, then back: consumption resumes, nothing lost', { timeout: 300_000 }, async () => {
  const port = 19500; // controllers on port + 100: clear of every other test cluster
  const info = await startCluster({ nodes: 1, port, fresh: true, heapMb: 512 });
  process.env.KAFKA_BROKERS = info.bootstrap;
  try {
    const duplicates = await consumeThrough('broker-restart', 4, 1, async () => {
      await stopNode({ nodes: 1, port, index: 0 });
      // Longer than the consumer's retry budget (connectRetries 5, ~10 s): kafkajs gives up
      // (KafkaJSGroupCoordinatorNotFound, which it does not restart from) and Partita starts it again.
      await sleep(20_000);
      await startNode({ nodes: 1, port, index: 0, heapMb: 512 });
    });
    console.log(`# broker-restart: ${duplicates} duplicates`);
  } finally {
    await stopCluster({ nodes: 1, port });
  }
});

test('one broker of three killed mid-stream: leaders move, consumption resumes, nothing lost', { timeout: 300_000 }, async () => {
  const port = 19700;
  const info = await startCluster({ nodes: 3, port, fresh: true, heapMb: 384 });
  process.env.KAFKA_BROKERS = info.bootstrap;
  try {
    // A topic with one replica per partition (3 partitions: one per node), which nobody here reads,
    // and a group's committed offsets on a replicated topic.
    const lone = unique('broker-loss-lone');
    const healthy = unique('broker-loss-healthy');
    const group = unique('broker-loss-verify');
    await createTopic(lone, 3, 1);
    await createTopic(healthy, 3, 3);
    const admin = kafka().admin();
    await admin.connect();
    // kafkajs's admin asks any broker for metadata, and one whose cache does not have the new topic
    // yet answers UNKNOWN_TOPIC_OR_PARTITION (CI, once): ask again until every broker knows it.
    await waitFor(
      () => admin.setOffsets({ groupId: group, topic: healthy, partitions: [0, 1, 2].map((partition) => ({ partition, offset: '7' })) }).then(() => true, () => false),
      `${group}'s offsets on ${healthy} set`,
      30_000,
      200,
    );
    await admin.disconnect();
    const duplicates = await consumeThrough('broker-loss', 6, 3, async () => {
      await stopNode({ nodes: 3, port, index: 0, kill: true });
    });
    console.log(`# broker-loss: ${duplicates} duplicates`);
    // With the node down, the lone partition it led has no leader. A fresh kafkajs admin looks for
    // the group's coordinator with metadata of every topic, so it fails on that one ...
    const fresh = kafka().admin();
    await fresh.connect();
    try {
      await assert.rejects(fresh.fetchOffsets({ groupId: group, topics: [healthy] }), /leader/i);
    } finally {
      await fresh.disconnect();
    }
    // ... and the stop's read-back does not: it needs only the group's own topics.
    const config = { brokers: info.bootstrap.split(','), clientId: 'broker-loss-verify', connectionTimeoutMs: 3000, requestTimeoutMs: 30_000, connectRetries: 5 };
    const unverified = await verifyCommitted({ name: group, kafka: config }, [0, 1, 2].map((partition) => ({ topic: healthy, partition, offset: 7 })), createLogger({ level: 'silent' }), 15_000);
    assert.deepEqual(unverified, []);
  } finally {
    await stopCluster({ nodes: 3, port });
  }
});
