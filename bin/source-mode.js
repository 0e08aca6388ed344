// How the `partita` command, `partita/register` and the worker threads load Partita.
// In a checkout of the repository (src/ next to bin/) Partita runs from its TypeScript
// sources through tsx, and an app's `import … from 'partita'` must reach those same
// modules (one module graph: one Consumer class, one set of instruments), so it resolves
// with the `partita-source` export condition. The installed package has only dist/.
import { existsSync } from 'node:fs';
import { register } from 'node:module';

/** True in a checkout of the repository, false in the installed package. */
export const fromSource = existsSync(new URL('../src/index.ts', import.meta.url));

/** Set once tsx's loader is registered on this thread (src/app/boot.ts checks it before registering again). */
export const TSX_REGISTERED = Symbol.for('partita.tsx-registered');

/** Registers tsx on this thread and resolves `partita` imports to the sources (checkout only). */
export async function useSource() {
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  register('./source-hooks.js', import.meta.url);
  globalThis[TSX_REGISTERED] = true;
}
