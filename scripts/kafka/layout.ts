/**
 * Where a local cluster lives: everything under a cache directory outside the
 * repo (jars, data, logs, pid files), one directory per cluster named after
 * its size and first port, and the ports of its nodes.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export const DEFAULT_PORT = 9092;

export function cacheRoot(): string {
  return process.env.PARTITA_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'partita');
}

export function clusterDir(port: number, nodes: number): string {
  return join(cacheRoot(), 'clusters', `${nodes}x-${port}`);
}

export function nodeDir(dir: string, index: number): string {
  return join(dir, `node-${index}`);
}

/** Node i's client port is port + i, its controller port port + 100 + i. */
export function ports(port: number, nodes: number): { broker: number[]; controller: number[] } {
  const idx = [...Array(nodes).keys()];
  return { broker: idx.map((i) => port + i), controller: idx.map((i) => port + 100 + i) };
}
