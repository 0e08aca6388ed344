/**
 * kafkajs's request queue (its real module, no broker) without and with
 * src/kafka/request-queue-idle.ts: as is, an idle queue keeps re-arming a
 * timer to look at itself (every ~1 ms); with the hook it arms nothing while
 * nothing waits, and requests held back by a throttle or by the in-flight
 * limit still go out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { installIdleRequestQueue } from '../../src/kafka/request-queue-idle.ts';

const require = createRequire(import.meta.url);

interface Queue {
  pending: unknown[];
  inflight: Map<number, unknown>;
  throttledUntil: number;
  throttleCheckTimeoutId: unknown;
  checkPendingRequests(): void;
  push(r: { entry: Record<string, unknown>; expectResponse: boolean; sendRequest: () => void }): void;
  fulfillRequest(r: { correlationId: number; payload: Buffer | null; size: number }): void;
  destroy(): void;
}
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (o: Record<string, unknown>) => Queue;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const newQueue = (maxInFlightRequests: number | null = null) => new RequestQueue({ maxInFlightRequests, requestTimeout: 30_000, clientId: 'test', broker: 'b:1', logger: quiet });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts the queue's looks at itself from now on. */
function countLooks(queue: Queue): () => number {
  let looks = 0;
  const look = queue.checkPendingRequests.bind(queue);
  queue.checkPendingRequests = () => {
    looks++;
    look();
  };
  return () => looks;
}

/** Waits for `check` without asserting how soon: a loaded CI machine may run timers late. */
async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

let correlationId = 0;
function request(sent: Array<{ id: number; at: number }>) {
  const id = ++correlationId;
  return { entry: { correlationId: id, apiName: 'Test', apiKey: 0, apiVersion: 0, resolve() {}, reject() {} }, expectResponse: true, sendRequest: () => sent.push({ id, at: Date.now() }), id };
}

// One file, one process: the hook is process-wide, so kafkajs as is is looked at first.
test('kafkajs 2.2.4 as is: an idle queue keeps re-arming a timer to look at itself', async () => {
  const queue = newQueue();
  const looks = countLooks(queue);
  queue.checkPendingRequests(); // as after a response
  assert.notEqual(queue.throttleCheckTimeoutId, null, 'a timer is armed with nothing pending');
  await until(() => looks() >= 5, 'five looks');
  assert.notEqual(queue.throttleCheckTimeoutId, null, 'and armed again after each');
  queue.destroy();
});

test('with the hook: an idle queue arms nothing; throttled and over-the-limit requests still go out', async () => {
  installIdleRequestQueue();
  const idle = newQueue();
  const looks = countLooks(idle);
  idle.checkPendingRequests();
  assert.equal(idle.throttleCheckTimeoutId, null, 'nothing armed');
  await sleep(50);
  assert.equal(looks(), 1, 'only the look itself');

  // The broker throttles this client for 300 ms: a request waits, then goes out by itself, not before.
  const sent: Array<{ id: number; at: number }> = [];
  const throttled = newQueue();
  throttled.throttledUntil = Date.now() + 300;
  const r1 = request(sent);
  throttled.push(r1);
  assert.equal(sent.length, 0, 'held while throttled');
  assert.notEqual(throttled.throttleCheckTimeoutId, null, 'a look is armed for the throttle\'s end');
  await until(() => sent.length > 0, 'the throttled request to go out');
  assert.equal(sent[0]!.id, r1.id);
  assert.ok(sent[0]!.at >= throttled.throttledUntil, 'not before the throttle ended');
  throttled.fulfillRequest({ correlationId: r1.id, payload: null, size: 0 });
  await until(() => throttled.throttleCheckTimeoutId === null, 'nothing armed once idle again');

  // One request in flight at most: the second waits for the first's response.
  const sent2: Array<{ id: number; at: number }> = [];
  const limited = newQueue(1);
  const [a, b] = [request(sent2), request(sent2)];
  limited.push(a);
  limited.push(b);
  assert.deepEqual(sent2.map((x) => x.id), [a.id]);
  limited.fulfillRequest({ correlationId: a.id, payload: null, size: 0 });
  assert.deepEqual(sent2.map((x) => x.id), [a.id, b.id], 'sent on the first response');
  limited.fulfillRequest({ correlationId: b.id, payload: null, size: 0 });
  await until(() => limited.throttleCheckTimeoutId === null, 'nothing armed once idle again');
  for (const q of [idle, throttled, limited]) q.destroy();
});
