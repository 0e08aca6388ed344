/**
 * One node's process: started detached (it outlives the script that started
 * it) with its pid written next to its data, and stopped by that pid file.
 * Fault tests stop and restart single nodes with these.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaSetupError } from './errors.ts';
import { clusterDir, nodeDir } from './layout.ts';
import { libsDir } from './libs.ts';
import { isOurBroker, readPid } from './pids.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** Starts one node of an already formatted cluster (also used to bring a node back in fault tests). */
export async function startNode(o: { nodes: number; port: number; index: number; heapMb?: number | undefined }): Promise<number> {
  const dir = clusterDir(o.port, o.nodes);
  const nd = nodeDir(dir, o.index);
  const props = join(nd, 'server.properties');
  const heap = o.heapMb ?? (o.nodes > 1 ? 512 : 1024);
  const out = openSync(join(nd, 'server.log'), 'a');
  const child = spawn(
    'java',
    [
      `-Xms${Math.min(256, heap)}m`,
      `-Xmx${heap}m`,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${join(here, 'log4j2.properties')}`,
      '-cp',
      `${libsDir()}/*`,
      'kafka.Kafka',
      props,
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  if (child.pid === undefined) throw new KafkaSetupError('BROKER_START_FAILED', `could not spawn java for node ${o.index + 1}`);
  child.unref();
  writeFileSync(join(nd, 'broker.pid'), String(child.pid));
  return child.pid;
}

/** Stops one node: SIGTERM (controlled shutdown), SIGKILL after the grace period, or SIGKILL at once. */
export async function stopNode(o: { nodes: number; port: number; index: number; kill?: boolean; graceMs?: number }): Promise<boolean> {
  const nd = nodeDir(clusterDir(o.port, o.nodes), o.index);
  const pidFile = join(nd, 'broker.pid');
  const pid = readPid(pidFile);
  if (pid === undefined || !isOurBroker(pid, join(nd, 'server.properties'))) {
    rmSync(pidFile, { force: true });
    return false;
  }
  process.kill(pid, o.kill ? 'SIGKILL' : 'SIGTERM');
  const deadline = Date.now() + (o.graceMs ?? 30_000);
  while (isOurBroker(pid, join(nd, 'server.properties'))) {
    if (Date.now() > deadline) process.kill(pid, 'SIGKILL');
    await sleep(100);
  }
  rmSync(pidFile, { force: true });
  return true;
}
