/**
 * The process side of `partita swarm`: a `partita server` started by the
 * supervisor (an IPC channel and PARTITA_SWARM_INDEX set) answers the
 * supervisor's questions from its running server, says when it runs and
 * when it stops, and stops gracefully if the supervisor goes away (its IPC
 * channel closes: the supervisor was killed without stopping it).
 */
import type { Logger } from '../logger.ts';
import type { Server } from '../main/server.ts';
import { isSwarmMessage, SWARM_INDEX_ENV, type SwarmLifecycle, type SwarmQuery, type SwarmResponse } from '../protocol/swarm.ts';

export interface SwarmMember {
  announce(state: SwarmLifecycle['state']): void;
}

async function answer(server: Server | undefined, query: SwarmQuery): Promise<unknown> {
  if (!server) return undefined;
  switch (query) {
    case 'status':
      return { state: server.state, ready: server.ready, ...server.status() };
    case 'health':
      return server.health();
    case 'ready':
      return server.ready;
    case 'metrics':
      return server.metricsJson();
  }
}

/** Undefined unless this process was started by `partita swarm`. */
export function joinSwarm(opts: { server: () => Server | undefined; stop: () => void; logger: Logger }): SwarmMember | undefined {
  if (!process.send || process.env[SWARM_INDEX_ENV] === undefined) return undefined;
  const send = (msg: SwarmResponse | SwarmLifecycle) => {
    if (process.connected) process.send!(msg, undefined, undefined, () => {}); // a closed channel is reported by 'disconnect'
  };
  process.on('message', (msg) => {
    if (!isSwarmMessage(msg) || msg.kind !== 'swarm.request') return;
    answer(opts.server(), msg.query).then(
      (body) => send({ kind: 'swarm.response', id: msg.id, body }),
      (err: unknown) => {
        opts.logger.warn({ err, query: msg.query }, 'answering the swarm supervisor failed');
        send({ kind: 'swarm.response', id: msg.id, body: undefined });
      },
    );
  });
  process.on('disconnect', () => {
    opts.logger.warn('the swarm supervisor is gone (its IPC channel closed): stopping gracefully');
    opts.stop();
  });
  return { announce: (state) => send({ kind: 'swarm.lifecycle', state }) };
}
