/**
 * Headless Chromium for tests and scripts, driven by playwright-core: the
 * system's browser (Debian's `chromium`, or PARTITA_CHROMIUM), never one
 * downloaded by Playwright, so a run needs nothing beyond the OS package.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** PARTITA_CHROMIUM, else `chromium` or `chromium-browser` on PATH. */
export function chromiumPath(): string {
  if (process.env.PARTITA_CHROMIUM) return process.env.PARTITA_CHROMIUM;
  for (const name of ['chromium', 'chromium-browser']) {
    for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not here
      }
    }
  }
  throw new Error('Chromium not found: apt-get install chromium (Debian/Ubuntu), or set PARTITA_CHROMIUM to its executable');
}

export function launchChromium(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox'] });
}
