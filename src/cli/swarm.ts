/**
 * `partita swarm --processes N`: N `partita server` processes under one
 * supervisor (src/swarm/), one HTTP endpoint for all of them.
 *
 * The boot file is loaded here first, so a config error, a missing boot file
 * or an unknown consumer group is reported once, before any process starts
 * (exit 1, or 2 for usage), instead of N times in a crash loop.
 *
 * Signals: the first SIGINT/SIGTERM stops every process gracefully (each
 * within the app's shutdownTimeoutMs); a second one is passed on, which
 * forces each process to exit, and the swarm exits 130.
 *
 * Exit code: 0 when every process stopped cleanly (exit 0, final commits
 * verified), 1 when one did not, was killed after the stop budget, or the
 * swarm failed because a process kept crashing at start (SWARM_CRASH_LOOP).
 */
import { loadApp, resolveBootFile } from '../app/boot.ts';
import { UsageError } from '../errors.ts';
import { createLogger, logFormat, type LogFormat } from '../logger.ts';
import { selectGroups } from '../main/server.ts';
import { DEFAULT_RESTART_POLICY } from '../swarm/restart-policy.ts';
import { Supervisor } from '../swarm/supervisor.ts';
import { startSwarmHttp, type SwarmHttp } from '../swarm/swarm-http.ts';
import { STATUS_PAGE } from '../http/status-page.ts';
import { takeEarlySignals } from './early-signals.ts';
import { fail, parsePort } from './failures.ts';
import { signalPresses } from './signal-presses.ts';

export interface SwarmCliOptions {
  processes: string;
  boot?: string;
  consumerGroups?: string[];
  /** false with --no-http */
  http?: boolean;
  httpPort?: string;
  httpHost?: string;
  maxStartCrashes: string;
  logFormat?: LogFormat;
}

function parseCount(value: string, option: string, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > max) throw new UsageError(`${option} must be a whole number from 1 to ${max}, got "${value}"`);
  return n;
}

export async function swarmCommand(opts: SwarmCliOptions): Promise<number> {
  // Settled once: the processes (and their worker threads) inherit it and log the same way.
  process.env.PARTITA_LOG_FORMAT = opts.logFormat ?? logFormat();
  const logger = createLogger({ name: 'partita-swarm' });
  const presses = signalPresses();
  let supervisor: Supervisor | undefined;
  let stopSignal: NodeJS.Signals | undefined;
  // Set by a signal while awaiting: read through a function so TypeScript does not narrow it away.
  const stopRequested = (): NodeJS.Signals | undefined => stopSignal;
  let forced = false;
  const onSignal = (signal: NodeJS.Signals) => {
    const press = presses();
    if (press.repeated) return; // the same Ctrl-C relayed by npm/npx (see signal-presses.ts)
    if (press.count > 1) {
      forced = true;
      logger.error({ signal }, `forced stop on second ${signal}: passing it on to every process (each exits at once, saying what still ran)`);
      if (!supervisor) process.exit(130);
      supervisor.force();
      return;
    }
    stopSignal = signal;
    logger.info({ signal }, `${signal} received: stopping every process gracefully (send it again to force)`);
    void supervisor?.stop();
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  // Those that came while the CLI loaded (SIGUSR2 has no meaning here: dropped).
  for (const signal of takeEarlySignals()) if (signal !== 'SIGUSR2') onSignal(signal);
  let http: SwarmHttp | undefined;
  try {
    const env = process.env;
    const processes = parseCount(opts.processes, '--processes', 256);
    const maxStartCrashes = parseCount(opts.maxStartCrashes, '--max-start-crashes', 1000);
    const port = opts.httpPort !== undefined ? parsePort(opts.httpPort, '--http-port') : env.PARTITA_HTTP_PORT ? parsePort(env.PARTITA_HTTP_PORT, 'PARTITA_HTTP_PORT') : undefined;
    const bootFile = resolveBootFile(opts.boot);
    const app = await loadApp(bootFile);
    selectGroups(app, opts.consumerGroups);
    const abortedBy = stopRequested();
    if (abortedBy) {
      logger.info({ signal: abortedBy }, `swarm start aborted by ${abortedBy}: no process was started`);
      return 0;
    }
    const serverArgs = ['--boot', bootFile, ...(opts.consumerGroups?.length ? ['--consumer-groups', ...opts.consumerGroups] : [])];
    supervisor = new Supervisor({ processes, serverArgs, shutdownTimeoutMs: app.config.shutdownTimeoutMs, logger, restartPolicy: { ...DEFAULT_RESTART_POLICY, maxStartCrashes } });
    const cfg = app.config.http;
    if (opts.http !== false && cfg.enabled) {
      http = await startSwarmHttp(supervisor, { host: opts.httpHost ?? env.PARTITA_HTTP_HOST ?? cfg.host, port: port ?? cfg.port, logger, page: STATUS_PAGE });
    }
    const lateAbort = stopRequested();
    if (lateAbort) {
      logger.info({ signal: lateAbort }, `swarm start aborted by ${lateAbort}: no process was started`);
      return 0;
    }
    supervisor.start();
    const outcome = await supervisor.done;
    if (forced) return 130;
    if (outcome.clean) {
      logger.info({ exits: outcome.exits }, `swarm stopped: all ${processes} processes stopped cleanly`);
      return 0;
    }
    logger.error({ exits: outcome.exits, failure: outcome.failure }, `swarm stopped, not cleanly: ${outcome.failure ?? outcome.exits.map((e) => `process ${e.index}: ${e.exit ?? 'never ran'}`).join(', ')}`);
    return 1;
  } catch (err) {
    return fail(err);
  } finally {
    await http?.close().catch(() => {});
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}
