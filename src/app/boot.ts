/**
 * Loads a boot file (`export default createApp({...})`) by path. Used by the
 * CLI on the main thread and by every worker thread, so both see the same
 * routes and the same consumer classes. A JavaScript boot file loads with
 * plain Node; a TypeScript one (.ts, .mts, .cts) through tsx, an optional
 * peer dependency registered here on first need (on each thread).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BootFileError, ConfigError } from '../errors.ts';
import { isApp, type App } from './app.ts';

export const DEFAULT_BOOT_FILE = 'partita.config.ts';
/** Looked for in this order when no --boot is given. */
export const DEFAULT_BOOT_FILES = [DEFAULT_BOOT_FILE, 'partita.config.mts', 'partita.config.js', 'partita.config.mjs'];

export function resolveBootFile(file: string | undefined, cwd = process.cwd()): string {
  const candidates = file ? [file] : DEFAULT_BOOT_FILES;
  const path = candidates.map((f) => resolve(cwd, f)).find((p) => existsSync(p));
  if (!path) {
    throw new BootFileError('BOOT_FILE_NOT_FOUND', file ? `Boot file not found: ${resolve(cwd, file)}` : `No boot file in ${cwd}: pass --boot FILE or create one of ${DEFAULT_BOOT_FILES.join(', ')}`);
  }
  return path;
}

const TYPESCRIPT = /\.[mc]?ts$/;
/** Set by whoever registered tsx on this thread (the checkout's bin/source-mode.js, or below). */
const TSX_REGISTERED = Symbol.for('partita.tsx-registered');

/** Registers tsx on this thread when a TypeScript boot file needs it and nothing registered it yet. */
async function loadTypeScript(bootFile: string): Promise<void> {
  const g = globalThis as { [TSX_REGISTERED]?: boolean };
  if (!TYPESCRIPT.test(bootFile) || g[TSX_REGISTERED]) return;
  let tsx: typeof import('tsx/esm/api');
  try {
    tsx = await import('tsx/esm/api');
  } catch (err) {
    // Node 22.18+ and 24 strip types themselves (erasable syntax only): let it try.
    if ((process.features as { typescript?: unknown }).typescript) return;
    throw new BootFileError('BOOT_FILE_NEEDS_TSX', `Boot file ${bootFile} is TypeScript, and loading it needs tsx, which is not installed: run \`npm install tsx\` (or compile the app to JavaScript and pass the .js boot file)`, err);
  }
  tsx.register();
  g[TSX_REGISTERED] = true;
}

/** The nearest package.json above `file`, and whether it declares "type": "module". */
function packageScope(file: string): { path: string | undefined; esm: boolean } {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const path = join(dir, 'package.json');
    if (existsSync(path)) {
      try {
        return { path, esm: (JSON.parse(readFileSync(path, 'utf8')) as { type?: string }).type === 'module' };
      } catch {
        return { path, esm: false };
      }
    }
    if (dirname(dir) === dir) return { path: undefined, esm: false };
  }
}

/**
 * What to do when a .ts/.js boot file failed while loaded as CommonJS (its
 * package.json lacks "type": "module"). Decided by where the file is, not by
 * the error's text: Node versions word it differently ("Cannot require() ES
 * Module … in a cycle" on 20, "… from a module not been linked" on 22).
 */
function commonJsHint(bootFile: string): string {
  if (!/\.(?:ts|js)$/.test(bootFile)) return '';
  const scope = packageScope(bootFile);
  if (scope.esm) return '';
  const where = scope.path ? `${scope.path} does not declare "type": "module"` : 'no package.json above it declares "type": "module"';
  return `. It was loaded as CommonJS because ${where}, and Partita is an ES module: add "type": "module" to ${scope.path ?? 'the package.json of your app'}, or rename the boot file to .mts / .mjs`;
}

export async function loadApp(bootFile: string): Promise<App> {
  await loadTypeScript(bootFile);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(bootFile).href)) as { default?: unknown };
  } catch (err) {
    // A config problem surfaces as is: its message lists every problem.
    if (err instanceof ConfigError) throw err;
    const hint = commonJsHint(bootFile);
    const why = (err as Error)?.message ?? String(err);
    throw new BootFileError('BOOT_FILE_INVALID', `Could not import boot file ${bootFile}: ${hint ? why.replace(/\.\s*$/, '') : why}${hint}`, err);
  }
  if (!isApp(mod.default)) {
    throw new BootFileError('BOOT_FILE_INVALID', `Boot file ${bootFile} must \`export default createApp({...})\`; its default export is ${mod.default === undefined ? 'missing' : typeof mod.default}`);
  }
  return mod.default;
}
