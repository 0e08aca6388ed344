/**
 * The shape of the tree, checked from the code's own imports (every import,
 * type-only and dynamic ones included, read with the TypeScript compiler's
 * pre-processor):
 *  - no import cycle anywhere under src/;
 *  - threads visible in the tree: src/worker/ (worker threads) and src/main/
 *    (the main thread) never import each other; both build on the shared
 *    modules, which import neither (only what runs or observes the main
 *    thread — CLI, HTTP, Prometheus metrics, entry points — imports it);
 *    worker code imports shared modules only;
 *  - kafkajs is imported only in src/kafka/ and by the one kafkajs batch
 *    source (src/main/source/kafkajs.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|js)$/.test(name) ? [path] : [];
  });
}

/** file (relative to the repo) → what it imports: other src files (relative) and bare package names. */
function importGraph(): Map<string, { files: string[]; packages: string[] }> {
  const graph = new Map<string, { files: string[]; packages: string[] }>();
  for (const file of sourceFiles(SRC)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const files: string[] = [];
    const packages: string[] = [];
    for (const { fileName } of info.importedFiles) {
      if (fileName.startsWith('.')) files.push(relative(ROOT, resolve(dirname(file), fileName)));
      else if (!fileName.startsWith('node:')) packages.push(fileName);
    }
    graph.set(relative(ROOT, file), { files, packages });
  }
  return graph;
}

/** Strongly connected components with more than one file (or a file importing itself): the cycles. */
function cycles(graph: Map<string, { files: string[] }>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.files ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || graph.get(v)!.files.includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

const graph = importGraph();
const area = (file: string) => file.split('/')[1]!;

test('the import graph is read (sanity: it has the files and edges we know of)', () => {
  assert.ok(graph.size > 50, `found ${graph.size} files`);
  assert.ok(graph.get('src/main/server.ts')?.files.includes('src/main/group.ts'), 'server imports group');
  assert.ok(graph.get('src/worker/entry.ts')?.files.includes('src/app/boot.ts'), 'the worker entry imports boot');
});

test('no import cycles under src/ (type-only and dynamic imports included)', () => {
  assert.deepEqual(cycles(graph), []);
});

test('the cycle finder finds a cycle (so the test above can fail)', () => {
  const fake = new Map([
    ['a', { files: ['b'] }],
    ['b', { files: ['c'] }],
    ['c', { files: ['a'] }],
    ['d', { files: ['a'] }],
  ]);
  assert.deepEqual(cycles(fake), [['a', 'b', 'c']]);
});

test('worker-thread and main-thread code never import each other; shared code imports neither', () => {
  // Above the main thread: what runs it (CLI, HTTP endpoint, public entry points) and what observes it (Prometheus
  // metrics subscribe to its events). Everything else is shared by both threads and sits below them.
  const aboveMain = new Set(['cli', 'http', 'metrics', 'index.ts', 'testing.ts']);
  const wrong: string[] = [];
  for (const [file, { files }] of graph) {
    const from = area(file);
    for (const target of files) {
      const to = area(target);
      // Worker-thread code is loaded by path (Piscina); nothing outside it imports it.
      if (to === 'worker' && from !== 'worker') wrong.push(`${file} → ${target}`);
      if (to === 'main' && from !== 'main' && !aboveMain.has(from)) wrong.push(`${file} → ${target}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('worker-thread code imports only shared modules', () => {
  const shared = new Set(['worker', 'runner', 'protocol', 'consumer', 'messages', 'producer', 'app', 'config', 'errors.ts', 'logger.ts']);
  const wrong = [...graph]
    .filter(([file]) => area(file) === 'worker')
    .flatMap(([file, { files }]) => files.filter((t) => !shared.has(area(t)) && t !== 'src/metrics/thread-registry.ts').map((t) => `${file} → ${t}`));
  assert.deepEqual(wrong, []);
});

test('kafkajs is imported only by src/kafka/ and the kafkajs batch source', () => {
  const allowed = (file: string) => file.startsWith('src/kafka/') || file === 'src/main/source/kafkajs.ts';
  const wrong = [...graph].filter(([file, { packages }]) => packages.includes('kafkajs') && !allowed(file)).map(([file]) => file);
  assert.deepEqual(wrong, []);
});
