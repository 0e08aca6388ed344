#!/usr/bin/env node
// The `partita` command. Registers tsx's loader so TypeScript boot files,
// consumers and Partita's own sources load without a build step, then runs the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
// Exit explicitly: after a timed-out shutdown, open sockets or threads must not keep the process alive.
process.exit(await main(process.argv.slice(2)));
