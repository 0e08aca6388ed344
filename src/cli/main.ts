/**
 * The `partita` CLI. Exit codes: 0 ok, 1 runtime or config failure, 2 usage
 * error (unknown command/option, unknown consumer group).
 */
import { Command, CommanderError } from 'commander';
import { loadApp, resolveBootFile } from '../app/boot.ts';
import { PartitaError, UnknownConsumerGroupError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { Server } from '../runtime/server.ts';

interface ServerCliOptions {
  boot?: string;
  consumerGroups?: string[];
}

function fail(err: unknown): number {
  if (err instanceof PartitaError) {
    console.error(`error [${err.code}]: ${err.message}`);
    return err instanceof UnknownConsumerGroupError ? 2 : 1;
  }
  console.error(err);
  return 1;
}

async function serverCommand(opts: ServerCliOptions): Promise<number> {
  const logger = createLogger();
  let server: Server | undefined;
  // Until the promise below exists, remember a crash that happens while starting.
  let early: number | undefined;
  let crashed: (code: number) => void = (code) => {
    early = code;
  };
  try {
    const bootFile = resolveBootFile(opts.boot);
    const app = await loadApp(bootFile);
    // A fetcher that cannot recover: the server stops itself; exit 1 so a supervisor restarts us.
    const onFatal = () => void (server?.stop() ?? Promise.resolve()).then(() => crashed(1), () => crashed(1));
    server = await Server.start({ app, bootFile, consumerGroups: opts.consumerGroups, logger, onFatal });
  } catch (err) {
    return fail(err);
  }
  const running = server;
  return new Promise<number>((resolve) => {
    if (early !== undefined) return resolve(early);
    crashed = resolve;
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        logger.error({ signal, stillRunning: running.busy() }, `forced exit on second ${signal}; still running: ${running.busy().join(', ') || 'nothing'}`);
        process.exit(130);
      }
      logger.info({ signal }, `${signal} received: shutting down gracefully (send it again to force)`);
      running.stop().then(
        () => resolve(0),
        (err) => resolve(fail(err)),
      );
    };
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
    // Operators (and tests) can ask a running server what it is doing.
    process.on('SIGUSR2', () => logger.info({ status: running.status() }, 'status'));
  });
}

export function buildProgram(): Command {
  const program = new Command('partita')
    .description('Kafka consumer framework on Node.js worker threads')
    .showHelpAfterError()
    .exitOverride();
  program
    .command('server')
    .description('run the consumer groups declared in the boot file')
    .option('-b, --boot <file>', 'boot file exporting createApp(...)', 'partita.config.ts')
    .option('-g, --consumer-groups <names...>', 'run only these consumer groups (default: all)')
    .action(async function (this: Command) {
      this.setOptionValue('exitCode', await serverCommand(this.opts<ServerCliOptions>()));
    });
  return program;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    return fail(err);
  }
  const sub = program.commands.find((c) => c.getOptionValue('exitCode') !== undefined);
  return (sub?.getOptionValue('exitCode') as number | undefined) ?? 0;
}
