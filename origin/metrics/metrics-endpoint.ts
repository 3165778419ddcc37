/**
 * Where the metrics are served, as the operator chooses (README, "Metrics"):
 *
 *   METRICS_TOKEN   /metrics on the registry's own port, for `Authorization: Bearer <token>` only
 *                   (anything else: 401 UNAUTHORIZED, compared in constant time);
 *   METRICS_PORT    /metrics on a port of its own (METRICS_HOST, loopback by default), open: keep
 *                   that port off the public network.
 *
 * Either, both, or neither (then no metrics are served at all).
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import { Hono, type Handler } from 'hono';
import { RegistryError } from '../../shared/errors.ts';
import { registryErrorResponse } from '../../shared/error-response.ts';
import type { OriginMetrics } from './metrics.ts';

export const METRICS_PATH = '/metrics';

/** The text exposition of every metric. */
async function exposition(metrics: OriginMetrics): Promise<Response> {
  return new Response(await metrics.registry.metrics(), { headers: { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' } });
}

/** Whether two secrets are equal, in time independent of where they differ. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** /metrics on the registry's port: only with the bearer token. */
export function metricsWithToken(metrics: OriginMetrics, token: string): Handler {
  return async (c) => {
    const match = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '');
    if (!match?.[1] || !sameSecret(match[1].trim(), token)) {
      throw new RegistryError('UNAUTHORIZED', 'Metrics need METRICS_TOKEN as a bearer token (Authorization: Bearer <token>)', {
        headers: { 'WWW-Authenticate': 'Bearer realm="nixedge metrics"' },
      });
    }
    return exposition(metrics);
  };
}

/** Serves /metrics alone on `host:port`; resolves with the server and its port once it listens. */
export async function startMetricsServer(metrics: OriginMetrics, host: string, port: number): Promise<{ server: ServerType; port: number }> {
  const app = new Hono();
  app.get(METRICS_PATH, () => exposition(metrics));
  app.notFound(() => registryErrorResponse(new RegistryError('NAME_UNKNOWN', `This port serves ${METRICS_PATH} only`)));
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => resolve({ server, port: info.port }));
    server.once('error', reject);
  });
}
