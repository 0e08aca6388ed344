/** `partita routes` text for topic options that change how a partition runs (pure: an app, no broker). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consumer, createApp } from '../../src/index.ts';
import { describeRoutes } from '../../src/cli/describe.ts';

class Orders extends Consumer {
  consume(): void {}
}

test('routes shows eofed and parallel (max, by, distribution, threads resolved)', () => {
  const bySession = (m: { keyString: string | null }) => m.keyString ?? '';
  const app = createApp({
    kafka: { brokers: ['127.0.0.1:9092'] },
    concurrency: 4,
    routes: { g: { topics: { a: { consumer: Orders, parallel: { max: 8 } }, b: { consumer: Orders, eofed: true, parallel: { max: 32, by: bySession, distribution: 'balanced', threads: 2 } }, c: { consumer: Orders } } } },
  });
  const text = describeRoutes(app).join('\n');
  assert.match(text, /\n {2}a\n[\s\S]*? {4}parallel: +max 8 by key, consistent, over 4 thread\(s\)\n/);
  assert.match(text, /\n {2}b\n[\s\S]*? {4}eofed: +true\n {4}parallel: +max 32 by custom \(bySession\), balanced, over 2 thread\(s\)\n/);
  assert.doesNotMatch(text.slice(text.indexOf('\n  c\n')), /parallel|eofed/);
});
