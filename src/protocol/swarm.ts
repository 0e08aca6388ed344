/**
 * What crosses the process boundary between `partita swarm` (the supervisor)
 * and its `partita server` processes, over Node's IPC channel (structured
 * clone: metric values such as NaN survive). The supervisor asks; a process
 * answers from its running server. Nothing here carries configuration.
 */

/** Env var set on every swarm process: its index (0-based, stable across restarts). */
export const SWARM_INDEX_ENV = 'PARTITA_SWARM_INDEX';

export type SwarmQuery = 'status' | 'health' | 'ready' | 'metrics';

/** Supervisor → process. */
export interface SwarmRequest {
  kind: 'swarm.request';
  id: number;
  query: SwarmQuery;
}

/** Process → supervisor: the answer to request `id`; `body` undefined while the server is not running. */
export interface SwarmResponse {
  kind: 'swarm.response';
  id: number;
  body: unknown;
}

/** Process → supervisor: where its server is in its life (drives restart backoff and /ready). */
export interface SwarmLifecycle {
  kind: 'swarm.lifecycle';
  state: 'running' | 'stopping';
}

export type SwarmMessage = SwarmRequest | SwarmResponse | SwarmLifecycle;

export function isSwarmMessage(m: unknown): m is SwarmMessage {
  return typeof m === 'object' && m !== null && typeof (m as { kind?: unknown }).kind === 'string' && (m as { kind: string }).kind.startsWith('swarm.');
}
