/**
 * Broker processes are tracked by pid files (and checked against their
 * command line before a signal is sent), never found by process name.
 */
import { readFileSync } from 'node:fs';

export function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True when pid is alive AND is the broker started with this properties file (pids get reused). */
export function isOurBroker(pid: number, propsFile: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(propsFile);
  } catch {
    return false;
  }
}
