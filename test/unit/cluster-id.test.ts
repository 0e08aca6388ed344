import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newClusterId } from '../../scripts/kafka/broker.ts';

test('KRaft cluster ids are 22-char base64url and never start with "-" (kafka-storage would read an option)', () => {
  const ids = Array.from({ length: 2000 }, newClusterId);
  for (const id of ids) assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  assert.equal(new Set(ids).size, ids.length);
});
