/**
 * The `partita` CLI. Exit codes: 0 ok (also a server stopped by a signal,
 * even while starting), 1 runtime or config failure, 2 usage error (unknown
 * command/option, unknown consumer group), 130 forced exit on a second signal.
 */
import { Command, CommanderError, Option } from 'commander';
import { loadApp, resolveBootFile } from '../app/boot.ts';
import { PartitaError, UnknownConsumerGroupError, UsageError } from '../errors.ts';
import { releaseEarlySignals, takeEarlySignals } from './early-signals.ts';
import { signalPresses } from './signal-presses.ts';
import { createLogger, LOG_FORMATS, logFormat, type LogFormat } from '../logger.ts';
import { Server, selectGroups } from '../main/server.ts';
import { startHttpServer, type HttpServer } from '../http/http-server.ts';
import { resolve as resolvePath } from 'node:path';
import type { App } from '../app/app.ts';
import { createTopics, declaredTopics, planTopics } from '../app/topics.ts';
import { formatPlan } from '../kafka/admin.ts';
import { runConsole } from './console.ts';
import { describeFlow, describeInfo, describeRoutes } from './describe.ts';
import { install } from './install.ts';
import { joinSwarm } from './swarm-member.ts';
import { logProcessWarnings } from './process-warnings.ts';
import { swarmCommand, type SwarmCliOptions } from './swarm.ts';
import { fail, parsePort } from './failures.ts';

interface ServerCliOptions {
  boot?: string;
  consumerGroups?: string[];
  /** false with --no-http */
  http?: boolean;
  httpPort?: string;
  httpHost?: string;
  logFormat?: LogFormat;
}

/**
 * `partita server`. Signals are handled from the first line, not only once
 * the server runs: SIGUSR2 logs the status (while starting: what it waits
 * for); SIGTERM/SIGINT stop gracefully at any stage — while starting they
 * abort the start and close what it opened; a second one forces exit 130.
 *
 * Exit codes of a requested stop, the same at every stage: 0 when it finished
 * cleanly within shutdownTimeoutMs, 1 when it did not (SHUTDOWN_TIMEOUT, or a
 * start that did not settle within the budget), 130 on a second signal. An
 * aborted start exits 0 like a graceful stop after start: the process handled
 * the signal and did what was asked (nothing was half-processed, nothing is
 * left to commit), so supervisors must not take it for a crash (systemd's
 * Restart=on-failure, scripts checking `$?`); 130/143 would claim the signal
 * killed us, which it did not.
 */
async function serverCommand(opts: ServerCliOptions): Promise<number> {
  // Settled once, here: worker threads (never on a terminal) inherit it and log the same way.
  process.env.PARTITA_LOG_FORMAT = opts.logFormat ?? logFormat();
  const logger = createLogger();
  const restoreWarnings = logProcessWarnings(logger);
  const since = Date.now();
  let state: 'starting' | 'aborting' | 'running' | 'stopping' = 'starting';
  let waitingFor = 'the boot file to load';
  let server: Server | undefined;
  let http: HttpServer | undefined;
  const presses = signalPresses();
  let requestStop!: (signal: NodeJS.Signals) => void;
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => (requestStop = resolve));
  let fatal!: () => void;
  const crashed = new Promise<'crashed'>((resolve) => (fatal = () => resolve('crashed')));

  const onSignal = (signal: NodeJS.Signals) => {
    const press = presses();
    if (press.repeated) return; // the same Ctrl-C, relayed by npm/npx/tsx (see signal-presses.ts)
    if (press.count > 1) {
      const still = server ? server.busy() : [`start (waiting for ${waitingFor})`];
      logger.error({ signal, state, stillRunning: still }, `forced exit on second ${signal}; still running: ${still.join(', ') || 'nothing'}`);
      process.exit(130);
    }
    if (server) {
      state = 'stopping';
      logger.info({ signal }, `${signal} received: shutting down gracefully (send it again to force)`);
    } else {
      state = 'aborting';
      logger.info({ signal, waitingFor }, `${signal} received while starting (waiting for ${waitingFor}): aborting the start, closing what it opened (send it again to force)`);
    }
    requestStop(signal);
  };
  // Operators (and tests) can ask the server what it is doing, also while it starts.
  const onStatus = () => {
    if (server) logger.info({ status: { state: server.state, ...server.status() } }, 'status');
    else logger.info({ status: { state, waitingFor, elapsedMs: Date.now() - since, http: http?.url ?? null } }, 'status');
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal).on('SIGUSR2', onStatus);
  // Those that came while the CLI loaded, in order, as if they came now.
  for (const signal of takeEarlySignals()) (signal === 'SIGUSR2' ? onStatus : onSignal)(signal);
  // Started by `partita swarm`: answer its supervisor; its going away is a stop request.
  const member = joinSwarm({ server: () => server, stop: () => onSignal('SIGTERM'), logger });
  try {
    return await runServer();
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal).off('SIGUSR2', onStatus);
    restoreWarnings();
  }

  async function runServer(): Promise<number> {
    try {
      const env = process.env;
      const port = opts.httpPort !== undefined ? parsePort(opts.httpPort, '--http-port') : env.PARTITA_HTTP_PORT ? parsePort(env.PARTITA_HTTP_PORT, 'PARTITA_HTTP_PORT') : undefined;
      const bootFile = resolveBootFile(opts.boot);
      const loaded = await Promise.race([loadApp(bootFile), stopRequested]);
      // Nothing of ours is open yet (an import cannot be cancelled; the exit ends it).
      if (typeof loaded === 'string') return aborted(loaded);
      const app = loaded;
      const cfg = app.config.http;
      // Up before the consumers start, so probes answer while connecting: alive, not ready.
      if (opts.http !== false && cfg.enabled) {
        waitingFor = 'the HTTP endpoint to bind';
        http = await startHttpServer(() => server, {
          host: opts.httpHost ?? env.PARTITA_HTTP_HOST ?? cfg.host,
          port: port ?? cfg.port,
          maxEventLoopLagMs: cfg.maxEventLoopLagMs,
          poolDeadAfterMs: cfg.poolDeadAfterMs,
          logger,
        });
      }
      if (state === 'aborting') {
        await http?.close();
        return aborted(await stopRequested);
      }
      waitingFor = describeStart(app, opts.consumerGroups);
      // A fetcher that cannot recover: the server stops itself; exit 1 so a supervisor restarts us.
      const starting = Server.start({ app, bootFile, consumerGroups: opts.consumerGroups, logger, onFatal: () => fatal() });
      const first = await Promise.race([starting, stopRequested]);
      if (typeof first === 'string') return abortStart(first, app, starting);
      server = first;
      state = 'running';
      waitingFor = 'nothing (running)';
      member?.announce('running');
    } catch (err) {
      await http?.close();
      return fail(err);
    }
    const running = server;
    const outcome = await Promise.race([stopRequested, crashed]);
    member?.announce('stopping');
    let code = 0;
    try {
      // After a crash the server is stopping itself already; stop() hands back that same stop.
      await running.stop();
      if (outcome === 'crashed') code = 1;
    } catch (err) {
      code = fail(err);
    }
    await http?.close();
    return code;
  }

  function aborted(signal: NodeJS.Signals): number {
    logger.info({ signal, elapsedMs: Date.now() - since }, `start aborted by ${signal}: everything it opened is closed`);
    return 0;
  }

  /**
   * A signal came while Server.start() runs. It cannot be cancelled from here
   * (kafkajs finishes its connection retries), so wait — at most
   * shutdownTimeoutMs, the budget of any stop — for it to settle: a start
   * that fails has closed what it opened (worker pool, kafkajs clients); one
   * that succeeds gets a graceful stop. If it does not settle in time, exit
   * anyway (worker threads and connections end with the process), exit 1.
   */
  async function abortStart(signal: NodeJS.Signals, app: App, starting: Promise<Server>): Promise<number> {
    const budgetMs = app.config.shutdownTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      starting.then(
        (s) => ({ server: s }),
        (err: unknown) => ({ err }),
      ),
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), budgetMs))),
    ]);
    clearTimeout(timer);
    let code = 0;
    if (settled === undefined) {
      logger.error({ signal, waitingFor, budgetMs }, `start aborted by ${signal}, but it did not settle within shutdownTimeoutMs (${budgetMs} ms; still waiting for ${waitingFor}): exiting anyway`);
      await http?.close();
      return 1;
    }
    if ('err' in settled) {
      logger.info({ err: settled.err }, 'the aborted start failed meanwhile and closed what it had opened');
    } else {
      server = settled.server;
      logger.info('the aborted start completed meanwhile: stopping the server gracefully');
      try {
        await settled.server.stop();
      } catch (err) {
        code = fail(err);
      }
    }
    await http?.close();
    if (code === 0) aborted(signal);
    return code;
  }
}

/** What Server.start() waits for, for the status while starting. */
function describeStart(app: App, names: string[] | undefined): string {
  let groups = app.consumerGroups;
  try {
    groups = selectGroups(app, names);
  } catch {
    // Server.start reports an unknown group itself.
  }
  const brokers = [...new Set(groups.flatMap((g) => g.kafka.brokers))];
  return `worker threads and Kafka at ${brokers.join(', ')} (consumer groups: ${groups.map((g) => g.name).join(', ')})`;
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

const BOOT_HELP = 'boot file exporting createApp(...) (default: the first of partita.config.ts, .mts, .js, .mjs)';

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
      .option('-b, --boot <file>', BOOT_HELP)
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
      // The local-broker scripts exist only in a checkout of the repository, not in the package.
      const scripts: string = '../../scripts/kafka/version.ts';
      const kafkaVersion = await import(scripts).then((m: { KAFKA_VERSION: string }) => m.KAFKA_VERSION, () => undefined);
      return print(describeInfo(app, bootFile, kafkaVersion));
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
      .option('-b, --boot <file>', BOOT_HELP)
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
    .option('--partita <spec>', "the app's partita dependency, anything npm installs (default: this checkout as file:, or ^<this version>)")
    .action(async function (this: Command, dir: string) {
      let code = 0;
      try {
        const spec = this.opts<{ partita?: string }>().partita;
        const files = spec ? install(dir, spec) : install(dir);
        print([`created ${files.length} files in ${resolvePath(dir)}:`, ...files.map((f) => `  ${f}`), '', 'next: npm install && npx partita topics create && npx partita server']);
      } catch (err) {
        code = fail(err);
      }
      this.setOptionValue('exitCode', code);
    });
  program
    .command('server')
    .description('run the consumer groups declared in the boot file')
    .option('-b, --boot <file>', BOOT_HELP)
    .option('-g, --consumer-groups <names...>', 'run only these consumer groups (default: all)')
    .option('--http-port <port>', 'port of /metrics /health /ready /status (0: any free port; env PARTITA_HTTP_PORT; default: config http.port, 9394)')
    .option('--http-host <host>', 'address to bind (env PARTITA_HTTP_HOST; default: config http.host, 127.0.0.1)')
    .option('--no-http', 'do not start the HTTP endpoint')
    .addOption(new Option('--log-format <format>', 'log lines as JSON or human-readable (env PARTITA_LOG_FORMAT; default: pretty on a terminal, JSON otherwise)').choices(LOG_FORMATS))
    .action(async function (this: Command) {
      this.setOptionValue('exitCode', await serverCommand(this.opts<ServerCliOptions>()));
    });
  program
    .command('swarm')
    .description('run N server processes of the same consumer groups under one supervisor, with one HTTP endpoint')
    .option('-p, --processes <n>', 'how many server processes (each with its own worker pool)', '2')
    .option('-b, --boot <file>', BOOT_HELP)
    .option('-g, --consumer-groups <names...>', 'run only these consumer groups (default: all)')
    .option('--http-port <port>', "port of the swarm's /metrics /health /ready /status and status page (0: any free port; env PARTITA_HTTP_PORT; default: config http.port, 9394)")
    .option('--http-host <host>', 'address to bind (env PARTITA_HTTP_HOST; default: config http.host, 127.0.0.1)')
    .option('--no-http', 'do not start the HTTP endpoint')
    .option('--max-start-crashes <n>', 'a process exiting this many times in a row before its server starts fails the swarm', '5')
    .addOption(new Option('--log-format <format>', 'log lines as JSON or human-readable (env PARTITA_LOG_FORMAT; default: pretty on a terminal, JSON otherwise)').choices(LOG_FORMATS))
    .action(async function (this: Command) {
      this.setOptionValue('exitCode', await swarmCommand(this.opts<SwarmCliOptions>()));
    });
  return program;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  // Only `server` and `swarm` handle signals (and adopt those held while loading); the rest keep Node's defaults.
  const command = argv.find((a) => !a.startsWith('-'));
  if (command !== 'server' && command !== 'swarm') releaseEarlySignals();
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
