#!/usr/bin/env node
// The `partita` command: the compiled CLI (dist/). tsx is loaded only for a TypeScript
// boot file (src/app/boot.ts), or in a checkout of the repository, which runs from src/.
import './early-signals.js'; // first: signals are held from here on
import { fromSource, useSource } from './source-mode.js';

if (fromSource) await useSource();
const { main } = await import(fromSource ? '../src/cli/main.ts' : '../dist/cli/main.js');
// Exit explicitly: after a timed-out shutdown, open sockets or threads must not keep the process alive.
process.exit(await main(process.argv.slice(2)));
