// Piscina's worker file. Plain JS on purpose: on Node 20 a worker thread does not
// inherit the main thread's module loader hooks (not even via execArgv --import).
// In a checkout (entry.ts next to this file) the thread registers tsx and the
// source resolution itself before loading the TypeScript worker; in the installed
// package it loads the compiled entry.js, and tsx only if the app's boot file is
// TypeScript (src/app/boot.ts).
import { existsSync } from 'node:fs';

const fromSource = existsSync(new URL('./entry.ts', import.meta.url));
if (fromSource) {
  const { useSource } = await import(new URL('../../bin/source-mode.js', import.meta.url).href);
  await useSource();
}
const worker = await import(fromSource ? './entry.ts' : './entry.js');
export default worker.default;
