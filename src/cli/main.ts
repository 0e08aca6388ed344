/**
 * The `partita` CLI. Exit codes: 0 ok, 1 runtime or config failure, 2 usage
 * error (unknown command/option, unknown consumer group).
 */
import { Command, CommanderError } from 'commander';
import { loadApp, resolveBootFile } from '../app/boot.ts';
import { PartitaError, UnknownConsumerGroupError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { Server } from '../runtime/server.ts';
import { startHttpServer, type HttpServer } from '../http/http-server.ts';

interface ServerCliOptions {
  boot?: string;
  consumerGroups?: string[];
  /** false with --no-http */
  http?: boolean;
  httpPort?: string;
  httpHost?: string;
}

/** --http-port / PARTITA_HTTP_PORT as a port number, or a usage error. */
function parsePort(value: string, from: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new UsageError(`${from} must be a port number 0-65535, got "${value}"`);
  return n;
}

class UsageError extends Error {}

function fail(err: unknown): number {
  if (err instanceof UsageError) {
    console.error(`error: ${err.message}`);
    return 2;
  }
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
  let http: HttpServer | undefined;
  // Until the promise below exists, remember a crash that happens while starting.
  let early: number | undefined;
  let crashed: (code: number) => void = (code) => {
    early = code;
  };
  try {
    const env = process.env;
    const port = opts.httpPort !== undefined ? parsePort(opts.httpPort, '--http-port') : env.PARTITA_HTTP_PORT ? parsePort(env.PARTITA_HTTP_PORT, 'PARTITA_HTTP_PORT') : undefined;
    const bootFile = resolveBootFile(opts.boot);
    const app = await loadApp(bootFile);
    const cfg = app.config.http;
    // Up before the consumers start, so probes answer while connecting: alive, not ready.
    if (opts.http !== false && cfg.enabled) {
      http = await startHttpServer(() => server, {
        host: opts.httpHost ?? env.PARTITA_HTTP_HOST ?? cfg.host,
        port: port ?? cfg.port,
        maxEventLoopLagMs: cfg.maxEventLoopLagMs,
        poolDeadAfterMs: cfg.poolDeadAfterMs,
        logger,
      });
    }
    // A fetcher that cannot recover: the server stops itself; exit 1 so a supervisor restarts us.
    const onFatal = () => void (server?.stop() ?? Promise.resolve()).finally(() => http?.close()).then(() => crashed(1), () => crashed(1));
    server = await Server.start({ app, bootFile, consumerGroups: opts.consumerGroups, logger, onFatal });
  } catch (err) {
    await http?.close();
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
      running
        .stop()
        .finally(() => http?.close())
        .then(
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
    .option('--http-port <port>', 'port of /metrics /health /ready /status (0: any free port; env PARTITA_HTTP_PORT; default: config http.port, 9394)')
    .option('--http-host <host>', 'address to bind (env PARTITA_HTTP_HOST; default: config http.host, 127.0.0.1)')
    .option('--no-http', 'do not start the HTTP endpoint')
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
