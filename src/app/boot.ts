/**
 * Loads a boot file (`export default createApp({...})`) by path. Used by the
 * CLI on the main thread and by every worker thread, so both see the same
 * routes and the same consumer classes. `.ts` works through tsx's loader.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BootFileError, ConfigError } from '../errors.ts';
import { isApp, type App } from './app.ts';

export const DEFAULT_BOOT_FILE = 'partita.config.ts';

export function resolveBootFile(file: string | undefined, cwd = process.cwd()): string {
  const path = resolve(cwd, file ?? DEFAULT_BOOT_FILE);
  if (!existsSync(path)) {
    throw new BootFileError('BOOT_FILE_NOT_FOUND', `Boot file not found: ${path}${file ? '' : ` (pass --boot FILE or create ${DEFAULT_BOOT_FILE})`}`);
  }
  return path;
}

export async function loadApp(bootFile: string): Promise<App> {
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(bootFile).href)) as { default?: unknown };
  } catch (err) {
    // A config problem surfaces as is: its message lists every problem.
    if (err instanceof ConfigError) throw err;
    throw new BootFileError('BOOT_FILE_INVALID', `Could not import boot file ${bootFile}: ${(err as Error)?.message ?? String(err)}`, err);
  }
  if (!isApp(mod.default)) {
    throw new BootFileError('BOOT_FILE_INVALID', `Boot file ${bootFile} must \`export default createApp({...})\`; its default export is ${mod.default === undefined ? 'missing' : typeof mod.default}`);
  }
  return mod.default;
}
