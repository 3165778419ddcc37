/** Middleware counting every request by route, method and status, timing it, and counting 429s. */

import type { MiddlewareHandler } from 'hono';
import { routeName } from '../../shared/route-name.ts';
import type { OriginMetrics } from './metrics.ts';

/** Records each request into `metrics` once it is answered. */
export function requestMetrics(metrics: OriginMetrics): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const route = routeName(c);
    metrics.requests.inc({ route, method: c.req.method, status: String(c.res.status) });
    metrics.requestDuration.observe({ route }, (performance.now() - started) / 1000);
    if (c.res.status === 429) metrics.tooManyRequests.inc({ route });
  };
}
