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
import { resolve as resolvePath } from 'node:path';
import type { App } from '../app/app.ts';
import { createTopics, declaredTopics, formatPlan, planTopics } from '../admin/topics.ts';
import { runConsole } from './console.ts';
import { describeFlow, describeInfo, describeRoutes } from './describe.ts';
import { install } from './install.ts';

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

/** Loads the boot file named by --boot and runs `f` with the app; errors become exit codes. */
async function withApp(boot: string | undefined, f: (app: App, bootFile: string) => Promise<number> | number): Promise<number> {
  try {
    const bootFile = resolveBootFile(boot);
    return await f(await loadApp(bootFile), bootFile);
  } catch (err) {
    return fail(err);
  }
}

function print(lines: string[]): number {
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

const BOOT_HELP = 'boot file exporting createApp(...)';

export function buildProgram(): Command {
  const program = new Command('partita')
    .description('Kafka consumer framework on Node.js worker threads')
    .showHelpAfterError()
    .exitOverride();
  // Subcommands inherit exitOverride and error output from here.
  const command = (name: string, description: string, run: (this: Command) => Promise<number>) =>
    program
      .command(name)
      .description(description)
      .option('-b, --boot <file>', BOOT_HELP, 'partita.config.ts')
      .action(async function (this: Command) {
        this.setOptionValue('exitCode', await run.call(this));
      });
  command('routes', 'list every consumer group, topic, consumer class and option (sorted)', function () {
    return withApp(this.opts().boot, (app) => print(describeRoutes(app)));
  });
  command('flow', 'show where messages go: incoming topic → outgoing topics, from the responders', function () {
    return withApp(this.opts().boot, (app) => print(describeFlow(app)));
  });
  command('info', 'versions and the resolved config (secrets masked)', function () {
    return withApp(this.opts().boot, async (app, bootFile) => {
      const { KAFKA_VERSION } = await import('../../scripts/kafka/broker.ts');
      return print(describeInfo(app, bootFile, KAFKA_VERSION));
    });
  });
  command('console', 'a REPL with the app loaded (app, producer, routes)', function () {
    return withApp(this.opts().boot, (app, bootFile) => runConsole(app, bootFile));
  });
  const topics = program.command('topics').description('declarative topics (kafkaTopic on routes and responder topics)');
  for (const [name, description] of [
    ['plan', 'show what `topics create` would create and what differs from the declarations'],
    ['create', 'create the declared topics that do not exist'],
  ] as const) {
    topics
      .command(name)
      .description(description)
      .option('-b, --boot <file>', BOOT_HELP, 'partita.config.ts')
      .action(async function (this: Command) {
        this.setOptionValue(
          'exitCode',
          await withApp(this.opts().boot, async (app) => {
            if (declaredTopics(app).length === 0) return print(['no topics are declared (add kafkaTopic: { partitions } to a route or a responder topic)']);
            if (name === 'create') {
              const created = await createTopics(app);
              const rest = (await planTopics(app)).filter((c) => c.kind !== 'unchanged');
              return print([...(created.length ? created.map((t) => `created ${t}`) : ['nothing to create']), ...formatPlan(rest)]);
            }
            const plan = await planTopics(app);
            const pending = plan.filter((c) => c.kind !== 'unchanged');
            return print([...formatPlan(plan), pending.length === 0 ? 'No changes: every declared topic matches.' : `${pending.filter((c) => c.kind === 'create').length} to create, ${pending.filter((c) => c.kind !== 'create').length} to change`]);
          }),
        );
      });
  }
  program
    .command('install')
    .description('scaffold a new app (boot file, consumer, responder, test, README) into an empty directory')
    .argument('[dir]', 'target directory (created if missing)', '.')
    .action(async function (this: Command, dir: string) {
      let code = 0;
      try {
        const files = install(dir);
        print([`created ${files.length} files in ${resolvePath(dir)}:`, ...files.map((f) => `  ${f}`), '', 'next: npm install && npx partita topics create && npx partita server']);
      } catch (err) {
        code = fail(err);
      }
      this.setOptionValue('exitCode', code);
    });
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
  const all = program.commands.flatMap((c) => [c, ...c.commands]);
  const sub = all.find((c) => c.getOptionValue('exitCode') !== undefined);
  return (sub?.getOptionValue('exitCode') as number | undefined) ?? 0;
}
