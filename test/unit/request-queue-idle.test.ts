/**
 * kafkajs's request queue (its real module, no broker) without and with
 * src/kafka/request-queue-idle.ts: as is, an idle queue re-checks itself
 * about every millisecond forever; with the hook it arms nothing while
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

/** How often the queue looks at itself over `ms` after one look (as after a response). */
async function checksWhileIdle(queue: Queue, ms: number): Promise<number> {
  let checks = 0;
  const check = queue.checkPendingRequests.bind(queue);
  queue.checkPendingRequests = () => {
    checks++;
    check();
  };
  queue.checkPendingRequests();
  await sleep(ms);
  return checks;
}

let correlationId = 0;
function request(sent: number[]) {
  const id = ++correlationId;
  return { entry: { correlationId: id, apiName: 'Test', apiKey: 0, apiVersion: 0, resolve() {}, reject() {} }, expectResponse: true, sendRequest: () => sent.push(id), id };
}

// One file, one process: the hook is process-wide, so kafkajs as is is measured first.
test('kafkajs 2.2.4 as is: an idle queue re-checks itself about every millisecond', async () => {
  const queue = newQueue();
  const checks = await checksWhileIdle(queue, 200);
  queue.destroy();
  assert.ok(checks > 40, `${checks} checks in 200 ms`);
});

test('with the hook: an idle queue arms nothing; throttled and over-the-limit requests still go out', async () => {
  installIdleRequestQueue();
  const idle = newQueue();
  assert.equal(await checksWhileIdle(idle, 200), 1, 'only the look itself');
  assert.equal(idle.throttleCheckTimeoutId, null);

  // The broker throttles this client for 80 ms: a request waits, then goes out by itself.
  const sent: number[] = [];
  const throttled = newQueue();
  throttled.throttledUntil = Date.now() + 80;
  const r1 = request(sent);
  throttled.push(r1);
  await sleep(30);
  assert.deepEqual(sent, [], 'held while throttled');
  await sleep(150);
  assert.deepEqual(sent, [r1.id], 'sent once the throttle ended');
  throttled.fulfillRequest({ correlationId: r1.id, payload: null, size: 0 });
  assert.equal(throttled.throttleCheckTimeoutId, null, 'idle again: nothing armed');

  // One request in flight at most: the second waits for the first's response.
  const sent2: number[] = [];
  const limited = newQueue(1);
  const [a, b] = [request(sent2), request(sent2)];
  limited.push(a);
  limited.push(b);
  await sleep(30);
  assert.deepEqual(sent2, [a.id]);
  limited.fulfillRequest({ correlationId: a.id, payload: null, size: 0 });
  assert.deepEqual(sent2, [a.id, b.id], 'sent on the first response');
  limited.fulfillRequest({ correlationId: b.id, payload: null, size: 0 });
  await sleep(30);
  assert.equal(limited.throttleCheckTimeoutId, null, 'idle again: nothing armed');
  for (const q of [idle, throttled, limited]) q.destroy();
});
