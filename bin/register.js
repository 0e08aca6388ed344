// `node --import partita/register …`: lets plain Node (e.g. `node --test`) load TypeScript
// apps through tsx, as the `partita` command does for a TypeScript boot file. tsx is an
// optional peer dependency: install it to use this.
import { fromSource, TSX_REGISTERED, useSource } from './source-mode.js';

if (fromSource) await useSource();
else {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    throw new Error('partita/register loads TypeScript through tsx, which is not installed: npm install --save-dev tsx');
  }
  tsx.register();
  globalThis[TSX_REGISTERED] = true;
}
