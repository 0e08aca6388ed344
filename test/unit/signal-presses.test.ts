import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signalPresses } from '../../src/cli/signal-presses.ts';

test('signal presses: copies within the window are the same press; a later signal is a second press', () => {
  let t = 0;
  const press = signalPresses(500, () => t);
  assert.deepEqual(press(), { count: 1, repeated: false });
  t = 3; // npm's relay
  assert.deepEqual(press(), { count: 1, repeated: true });
  t = 40; // tsx's re-send after 30 ms
  assert.deepEqual(press(), { count: 1, repeated: true });
  t = 1200; // a deliberate second press
  assert.deepEqual(press(), { count: 2, repeated: false });
  t = 1210;
  assert.deepEqual(press(), { count: 2, repeated: true });
});
