/**
 * Which kafkajs crashes the kafkajs source starts again by itself: the ones
 * that only mean the cluster is not there yet (kafkajs's own classes, also
 * as a cause), not bugs or refusals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { transientCrash } from '../../src/main/source/kafkajs.ts';

test('transient: no coordinator yet, connection trouble, retries exhausted; not: anything else', () => {
  const notFound = Object.assign(new Error('Failed to find group coordinator'), { name: 'KafkaJSGroupCoordinatorNotFound' });
  assert.equal(transientCrash(notFound), true);
  assert.equal(transientCrash(new kafkajs.KafkaJSConnectionError('connect ECONNREFUSED')), true);
  assert.equal(transientCrash(Object.assign(new Error('wrapped'), { cause: notFound })), true);
  assert.equal(transientCrash(new kafkajs.KafkaJSNonRetriableError('Cannot subscribe to topic while consumer is running')), false);
  assert.equal(transientCrash(new TypeError('a bug')), false);
  assert.equal(transientCrash(undefined), false);
});
