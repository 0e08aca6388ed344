/**
 * Other Node versions for the test command: Node 22 and 24 (what users run)
 * next to the machine's own Node. Each comes from the npm registry's `node`
 * package (the official binaries), installed once under the cache directory
 * (~/.cache/partita/node/<major>) and reused.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot } from './kafka/layout.ts';

/** The `node` binary of this major version, installed on first use; throws when npm cannot install it. */
export function ensureNode(major: string, log: (line: string) => void): string {
  const dir = join(cacheRoot(), 'node', major);
  const bin = join(dir, 'node_modules', 'node', 'bin', 'node');
  if (existsSync(bin)) return bin;
  log(`installing Node ${major} from the npm registry into ${dir} ...`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "private": true }\n');
  const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', `node@${major}`], { cwd: dir, stdio: 'inherit' });
  if (npm.status !== 0 || !existsSync(bin)) throw new Error(`could not install Node ${major} (npm install node@${major} in ${dir} exited ${npm.status})`);
  return bin;
}

/** The Node version a binary reports (e.g. v22.23.3). */
export function nodeVersion(bin: string): string {
  return spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
}
