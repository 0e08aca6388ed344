/**
 * `partita console`: a Node REPL with the app loaded. In scope: `app`,
 * `producer` (app.producer), `routes` (the resolved consumer groups) and
 * the `partita` module. Top-level await works. The producer is flushed and
 * closed when the REPL exits.
 */
import repl from 'node:repl';
import type { App } from '../app/app.ts';

export async function runConsole(app: App, bootFile: string, input: NodeJS.ReadableStream = process.stdin, output: NodeJS.WritableStream = process.stdout): Promise<number> {
  const partita = await import('../index.ts');
  const terminal = (input as { isTTY?: boolean }).isTTY === true;
  output.write(`partita console — ${bootFile}\nin scope: app, producer, routes, partita (top-level await works; .exit or Ctrl-D to leave)\n`);
  const server = repl.start({ prompt: 'partita> ', input, output, terminal, useGlobal: false, ignoreUndefined: true });
  Object.assign(server.context, { app, producer: app.producer, routes: app.consumerGroups, partita });
  await new Promise<void>((resolve) => server.on('exit', () => resolve()));
  if (app.hasProducer) await app.producer.disconnect();
  return 0;
}
