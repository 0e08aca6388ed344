/**
 * The third hook into kafkajs (see docs/kafkajs-fetch-hook.md): an idle
 * connection stops waking the event loop every millisecond.
 *
 * kafkajs 2.2.4 (pinned exactly; frozen since 2023) re-arms a "check the
 * pending requests" timer on every broker connection each time it looks at
 * its queue, also when nothing is pending and nothing is throttled. The delay
 * it computes then is "throttled until" (-1) minus now: negative, which Node
 * runs after 1 ms, and the check re-arms it. So from its first response on,
 * every connection spins a 1 ms timer forever (kafkajs issues #1556, #1604,
 * #1704): ~850 wake-ups a second and ~6–7 % of a core per idle consumer
 * here, more with more brokers, and on the fetcher's thread under load. On
 * Node 24 the negative delay is also a TimeoutNegativeWarning on stderr
 * (kafkajs #1751).
 *
 * The replacement arms the timer only when a request waits: after the
 * throttle ends if the broker throttles, else after kafkajs's own 10 ms
 * re-check interval. With nothing pending there is nothing to check: a request
 * that cannot be sent at once is queued by `push()`, which schedules the
 * check itself, and every response runs the check again. That is the
 * behaviour kafkajs's comment on the method describes. Process-wide, like the
 * codecs: every kafkajs client in the process shares the module.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** kafkajs's CHECK_PENDING_REQUESTS_INTERVAL (a module constant it does not export). */
const RECHECK_MS = 10;

interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

let installed = false;

/** Puts the hook in place (once). */
export function installIdleRequestQueue(): void {
  if (installed) return;
  installed = true;
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueueInternals };
  RequestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueInternals) {
    // One check at a time; none while nothing waits (see above).
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const untilUnthrottled = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, untilUnthrottled > 0 ? untilUnthrottled : RECHECK_MS);
  };
}
