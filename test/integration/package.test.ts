/**
 * The published package as a user gets it: `npm pack` (which builds dist/ on
 * prepack), the tarball installed into a fresh project outside the repository,
 * and there:
 *  (d) the tarball holds the compiled package only: no tests, bench, scripts or sources;
 *  (a) a plain-JS ESM app runs `partita server` from the package (its boot file
 *      found by default) and consumes every id from the broker — tsx is not
 *      even installed;
 *  (b) a TypeScript app type-checks against the published .d.ts with
 *      moduleResolution nodenext and bundler, and a wrong config is a type error;
 *  (c) a TypeScript boot file needs tsx: without it BOOT_FILE_NEEDS_TSX (where
 *      Node cannot strip types itself), with it the server consumes every id;
 *  (e) `partita install` from the package scaffolds an app on the tarball
 *      (`--partita file:…tgz`), whose npm install, broker-free test and integration test pass.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokers, createTopic, produceIds, unique, waitFor } from '../helpers/kafka.ts';
import { ROOT } from '../helpers/app.ts';

const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

function run(cmd: string, args: string[], cwd: string, timeout = 240_000) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, NODE_TEST_CONTEXT: undefined } });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

const CONSUMER_JS = `import { appendFileSync } from 'node:fs';
import { Consumer } from 'partita';

export class IdsConsumer extends Consumer {
  consume(messages) {
    appendFileSync(process.env.OUT, messages.payloads().map((p) => \`\${p.id}\\n\`).join(''));
  }
}
`;

const boot = (consumerImport: string) => `import { createApp } from 'partita';
import { IdsConsumer } from '${consumerImport}';

export default createApp({
  kafka: { brokers: process.env.KAFKA_BROKERS.split(','), clientId: 'package-user' },
  concurrency: 2,
  http: { enabled: false },
  routes: {
    [process.env.GROUP]: { topics: { [process.env.TOPIC]: { consumer: IdsConsumer, startFrom: 'earliest' } } },
  },
});
`;

const TYPED_APP = `import { Consumer, createApp, type Messages } from 'partita';
import { ensureTopics } from 'partita/testing';

interface Order { id: number; total: number }

class OrdersConsumer extends Consumer<Order> {
  async consume(messages: Messages<Order>): Promise<void> {
    for (const m of messages) if (m.payload.total.toFixed(2) === '') this.markAsConsumed(m);
  }
}

const app = createApp({
  kafka: { brokers: ['127.0.0.1:9092'] },
  routes: { orders: { topics: { orders: { consumer: OrdersConsumer, backend: 'pool' } } } },
});
export default app;
export const setUp = () => ensureTopics(app);
`;

/** Runs `partita server` in `cwd` until `expected` ids are in OUT, then SIGTERM; returns the exit code and the ids seen. */
async function serve(cwd: string, args: string[], topic: string, expected: number[]): Promise<{ code: number | null; ids: Set<number>; output: string }> {
  const out = join(cwd, `ids-${unique('run')}.txt`);
  writeFileSync(out, '');
  // node_modules/.bin/partita: what `npx partita` runs (its shebang picks node), without npm's wrapper in between.
  const child = spawn(join(cwd, 'node_modules/.bin/partita'), ['server', ...args], {
    cwd,
    env: { ...process.env, NODE_TEST_CONTEXT: undefined, NODE_OPTIONS: undefined, OUT: out, TOPIC: topic, GROUP: unique('package-group'), KAFKA_BROKERS: brokers().join(',') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  const ids = () => new Set(readFileSync(out, 'utf8').split('\n').filter(Boolean).map(Number));
  try {
    await waitFor(() => ids().size >= expected.length || child.exitCode !== null, `${expected.length} ids`, 90_000, 250);
  } finally {
    child.kill('SIGTERM');
  }
  return { code: await exited, ids: ids(), output };
}

test('the packed package: compiled only; a plain-JS app consumes without tsx; types check under nodenext and bundler; a TypeScript boot file runs with tsx', { timeout: 600_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'partita-package-'));
  try {
    // (d) npm pack builds dist/ (prepack) and packs what `files` names. It runs in a copy of what the
    // build and `files` read, so this checkout's own dist/ is never rebuilt under other tests' feet.
    const source = join(work, 'source');
    for (const entry of ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'src', 'bin', 'grafana', 'scripts/build.ts']) cpSync(join(ROOT, entry), join(source, entry), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
    const packed = run('npm', ['pack', '--pack-destination', work, '--loglevel=error'], source);
    assert.equal(packed.code, 0, packed.out);
    const tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
    const files = run('tar', ['tzf', tarball], work).out.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts') && files.includes('dist/worker/thread.js') && files.includes('bin/partita.js'), `compiled files are in: ${files.length} files`);
    const foreign = files.filter((f) => /^(test|bench|scripts|src|examples|\.ci)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts'));
    assert.deepEqual(foreign, [], 'no tests, bench, scripts or sources');

    // A fresh project outside the repository installs the tarball (its dependencies from the registry).
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'package-user', private: true, type: 'module' }, null, 2));
    const installed = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], app, 300_000);
    assert.equal(installed.code, 0, installed.out);
    assert.ok(!existsSync(join(app, 'node_modules/tsx')), 'tsx is not installed with the package (optional peer)');

    const topic = unique('package');
    await createTopic(topic, 2);
    const produced = await produceIds(topic, 0, 300);

    // (a) plain JavaScript: boot file found by default (partita.config.js), consumer on the worker threads.
    writeFileSync(join(app, 'ids-consumer.js'), CONSUMER_JS);
    writeFileSync(join(app, 'partita.config.js'), boot('./ids-consumer.js'));
    const js = await serve(app, [], topic, produced);
    assert.deepEqual([...js.ids].sort((a, b) => a - b), produced, `every id consumed by the JS app\n${js.output.slice(-2000)}`);
    assert.equal(js.code, 0, `clean stop\n${js.output.slice(-2000)}`);

    // (b) TypeScript against the published .d.ts, both module resolutions; a wrong config must not type-check.
    writeFileSync(join(app, 'app.ts'), TYPED_APP);
    writeFileSync(join(app, 'wrong.ts'), `import { createApp } from 'partita';\nexport default createApp({ kafka: { brokers: 9092 }, routes: {} });\n`);
    const typeRoots = [join(ROOT, 'node_modules/@types')];
    // One compilation per resolution holds both files: the typed app must check, the wrong config must not.
    const tsconfig = (name: string, options: Record<string, unknown>) =>
      writeFileSync(join(app, name), JSON.stringify({ compilerOptions: { target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots, ...options }, files: ['app.ts', 'wrong.ts'] }));
    for (const [name, options] of [
      ['nodenext', { module: 'NodeNext', moduleResolution: 'NodeNext' }],
      ['bundler', { module: 'Preserve', moduleResolution: 'Bundler' }],
    ] as const) {
      tsconfig(`tsconfig.${name}.json`, options);
      const checked = run(process.execPath, [TSC, '-p', `tsconfig.${name}.json`], app);
      assert.notEqual(checked.code, 0, `${name}: a wrong config is a type error\n${checked.out}`);
      const errors = checked.out.split('\n').filter((l) => /error TS\d+/.test(l));
      assert.ok(errors.length > 0 && errors.every((l) => /^wrong\.ts\(\d+,\d+\): error TS2322/.test(l)), `${name}: the typed app checks against the published types, the only errors are the wrong config's\n${checked.out}`);
    }

    // (c) A TypeScript boot file and consumer.
    writeFileSync(join(app, 'ids-consumer.ts'), CONSUMER_JS.replace('consume(messages)', 'consume(messages: import(\'partita\').Messages<{ id: number }>)').replace('process.env.OUT', 'process.env.OUT!'));
    writeFileSync(join(app, 'partita.config.ts'), boot('./ids-consumer.ts').replace("process.env.KAFKA_BROKERS.split(',')", "process.env.KAFKA_BROKERS!.split(',')").replace('[process.env.GROUP]', '[process.env.GROUP!]').replace('[process.env.TOPIC]', '[process.env.TOPIC!]'));
    const stripsTypes = Boolean((process.features as { typescript?: unknown }).typescript);
    if (!stripsTypes) {
      const without = run(process.execPath, [join(app, 'node_modules/partita/bin/partita.js'), 'routes', '--boot', 'partita.config.ts'], app);
      assert.notEqual(without.code, 0);
      assert.match(without.out, /BOOT_FILE_NEEDS_TSX/, without.out);
    }
    // The user installs tsx (here: the repository's own copy, linked).
    symlinkSync(join(ROOT, 'node_modules/tsx'), join(app, 'node_modules/tsx'), 'dir');
    const ts = await serve(app, ['--boot', 'partita.config.ts'], topic, produced);
    assert.deepEqual([...ts.ids].sort((a, b) => a - b), produced, `every id consumed by the TypeScript app\n${ts.output.slice(-2000)}`);
    assert.equal(ts.code, 0, `clean stop\n${ts.output.slice(-2000)}`);

    // (e) The scaffold, from the installed package, depending on the tarball.
    const scaffold = join(work, 'scaffold');
    const made = run(process.execPath, [join(app, 'node_modules/partita/bin/partita.js'), 'install', scaffold, '--partita', `file:${tarball}`], app);
    assert.equal(made.code, 0, made.out);
    const manifest = JSON.parse(readFileSync(join(scaffold, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    assert.equal(manifest.dependencies.partita, `file:${tarball}`);
    assert.ok(manifest.devDependencies.tsx, 'the TypeScript scaffold depends on tsx');
    const scaffoldInstall = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], scaffold, 300_000);
    assert.equal(scaffoldInstall.code, 0, scaffoldInstall.out);
    assert.ok(!readdirSync(join(scaffold, 'node_modules/partita')).includes('src'), 'the scaffold runs the packed package, not this checkout');
    const scaffoldTest = run('npm', ['test'], scaffold, 240_000);
    assert.equal(scaffoldTest.code, 0, scaffoldTest.out);
    assert.match(scaffoldTest.out, /pass 2/, 'its broker-free tests, on the packed package');
    const scaffoldIntegration = run('npm', ['run', 'test:integration'], scaffold, 240_000);
    assert.equal(scaffoldIntegration.code, 0, scaffoldIntegration.out);
    assert.match(scaffoldIntegration.out, /pass 1/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
