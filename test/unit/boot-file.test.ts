/**
 * A boot file in a package without "type": "module" is loaded as CommonJS and
 * cannot import Partita (an ES module): the error says why and how to fix it,
 * and the fix works. No broker: `partita routes` only loads the boot file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');

test('a boot file loaded as CommonJS: it loads (Node 24) or BOOT_FILE_INVALID says to add "type": "module"; with it the app loads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'partita-cjs-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules/partita'), 'dir');
    writeFileSync(join(dir, 'partita.config.ts'), `import { Consumer, createApp } from 'partita';\nclass C extends Consumer { consume() {} }\nexport default createApp({ kafka: { brokers: ['127.0.0.1:9092'] }, routes: { g: { topics: { t: { consumer: C } } } } });\n`);
    const routes = () => spawnSync(process.execPath, [join(ROOT, 'bin/partita.js'), 'routes'], { cwd: dir, encoding: 'utf8' });
    for (const manifest of [{ name: 'cjs-app' }, { name: 'cjs-app', type: 'commonjs' }]) {
      writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
      const r = routes();
      // Node 24 loads it anyway (require() of ES modules); where it cannot, the error says why.
      if (r.status === 0) {
        assert.match(r.stdout, /^  t\n    consumer: +C$/m);
        continue;
      }
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /BOOT_FILE_INVALID/);
      assert.match(r.stderr, /loaded as CommonJS because .*package\.json does not declare "type": "module".*add "type": "module" to .*package\.json, or rename the boot file to \.mts \/ \.mjs/);
    }
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'cjs-app', type: 'module' }));
    const fixed = routes();
    assert.equal(fixed.status, 0, fixed.stderr);
    assert.match(fixed.stdout, /^  t\n    consumer: +C$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
