/**
 * The README's main-job command works: `npm run demo` (here with
 * --duration) creates its topic, produces, runs the demo app on worker
 * threads, prints live progress and stops cleanly with exit 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ROOT } from '../helpers/app.ts';

test('npm run demo -- --duration 6 runs end to end and stops cleanly', { timeout: 90_000 }, async () => {
  const child = spawn('npm', ['run', '-s', 'demo', '--', '--duration', '6', '--rate', '3000'], { cwd: ROOT, env: { ...process.env, PARTITA_HTTP_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  assert.equal(code, 0, out);
  assert.match(out, /app started: \d+ worker threads; metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/);
  const progress = [...out.matchAll(/produced (\d+)\s+processed (\d+)\s+\d+ msg\/s\s+thread \d+: p/g)];
  assert.ok(progress.length >= 3, `progress lines printed:\n${out}`);
  assert.ok(Number(progress.at(-1)![2]) > 0, 'messages were processed');
  assert.match(out, /app stopped cleanly; \d+ messages processed/);
});
