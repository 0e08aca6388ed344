/** The error catalogue: every code is documented in README, and classes carry their codes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError, ErrorCodes, PartitaError, PayloadError, UnknownConsumerGroupError } from '../../src/index.ts';
import { ROOT } from '../helpers/app.ts';

test('every error code is documented in README', () => {
  const readme = readFileSync(`${ROOT}/README.md`, 'utf8');
  for (const code of Object.keys(ErrorCodes)) assert.match(readme, new RegExp(`\\| \`${code}\` \\|`), `${code} in README's error table`);
});

test('errors carry stable codes and readable messages', () => {
  const cfg = new ConfigError([{ path: 'a.b', message: 'bad' }, { path: 'c', message: 'worse' }]);
  assert.ok(cfg instanceof PartitaError);
  assert.equal(cfg.code, 'CONFIG_INVALID');
  assert.equal(cfg.message, 'Invalid Partita config (2 problems):\n  - a.b: bad\n  - c: worse');
  const unknown = new UnknownConsumerGroupError(['x'], ['a', 'b']);
  assert.equal(unknown.message, 'Unknown consumer group: x. Available: a, b');
  const payload = new PayloadError('t', 1, 42, new SyntaxError('Unexpected token'));
  assert.equal(payload.code, 'PAYLOAD_INVALID');
  assert.equal(payload.name, 'PayloadError');
  assert.match(payload.message, /t\/1@42: Unexpected token/);
});
