/**
 * `npm run build` (also on `prepare` and `prepack`): compiles src/ to dist/ for
 * the published package — ES modules, .d.ts and source maps (tsconfig.build.json;
 * TypeScript rewrites relative `.ts` imports to `.js` in the JavaScript), then:
 * - rewrites the same specifiers in the .d.ts files, which TypeScript leaves as
 *   `.ts` (an app type-checking against them would look for sources that are
 *   not shipped);
 * - copies the plain-JS worker file (src/worker/thread.js) next to the compiled entry.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');

rmSync(DIST, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);

// `from './x.ts'`, `import('./x.ts')` and `export … from '../y.ts'` with a relative path.
const RELATIVE_TS = /((?:from\s+|import\()\s*)(['"])(\.{1,2}\/[^'"]+?)\.ts\2/g;
for (const entry of readdirSync(DIST, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
  const file = join(entry.parentPath, entry.name);
  const text = readFileSync(file, 'utf8');
  const rewritten = text.replace(RELATIVE_TS, (_, lead: string, q: string, path: string) => `${lead}${q}${path}.js${q}`);
  if (rewritten !== text) writeFileSync(file, rewritten);
}
copyFileSync(join(ROOT, 'src/worker/thread.js'), join(DIST, 'worker/thread.js'));
console.log(`built ${DIST}`);
