// Piscina's worker file. Plain JS on purpose: on Node 20 a worker thread does
// not inherit the main thread's module loader hooks (not even via execArgv
// --import), so the thread registers tsx itself before loading the TypeScript
// worker. Compiled .js boot files load through the same hook unchanged.
import { register } from 'tsx/esm/api';

register();
const worker = await import('./entry.ts');
export default worker.default;
