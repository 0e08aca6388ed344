/** The retry policy's pure parts: backoff, which message a failure is about, when it is dead-lettered. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs, deadLetterNow, suspectOf } from '../../src/main/scheduler/retry-policy.ts';

test('backoff doubles per attempt up to maxMs', () => {
  const b = { initialMs: 100, maxMs: 1000 };
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((a) => backoffMs(b, a)), [100, 200, 400, 800, 1000, 1000]);
});

test('the suspect: named by the error, the only message, the first unmarked one, the one pinned before, else unknown', () => {
  const rest = [10, 11, 12];
  assert.equal(suspectOf(rest, { failedOffset: 11, marked: false, previous: null }), 11);
  assert.equal(suspectOf(rest, { failedOffset: 7, marked: false, previous: null }), undefined, 'an offset before the rest is not about it');
  assert.equal(suspectOf([12], { marked: false, previous: null }), 12);
  assert.equal(suspectOf(rest, { marked: true, previous: null }), 10);
  assert.equal(suspectOf(rest, { marked: false, previous: 12 }), 12);
  assert.equal(suspectOf(rest, { marked: false, previous: 3 }), undefined);
  assert.equal(suspectOf(rest, { marked: false, previous: null }), undefined);
});

test('dead-lettered after maxRetries + 1 calls, malformed payloads at once unless retryMalformed', () => {
  const dl = { topic: 'dlq', maxRetries: 2, retryMalformed: false };
  const err = { name: 'Error', message: 'x' };
  const malformed = { ...err, code: 'PAYLOAD_INVALID' };
  assert.deepEqual([1, 2, 3].map((a) => deadLetterNow(dl, a, err)), [false, false, true]);
  assert.equal(deadLetterNow(dl, 1, malformed), true);
  assert.equal(deadLetterNow({ ...dl, retryMalformed: true }, 1, malformed), false);
});
