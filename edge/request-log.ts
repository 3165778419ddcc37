/**
 * The edge's own signal: one structured log line per request (JSON on the console, which Workers
 * Logs keeps and indexes by field when observability is on in wrangler.toml): the route, how it
 * was answered (X-Nixedge-Cache: HIT, STALE, MISS; null where no cache applies), the status, the
 * KV reads it made and its duration. Paths name images; no client address is logged.
 * REQUEST_LOG = "off" turns it off (like a registry's access log; Workers Logs bill per line).
 */

import type { MiddlewareHandler } from 'hono';
import { routeName } from '../shared/route-name.ts';
import type { EdgeEnv } from './env.ts';
import { CACHE_STATUS_HEADER } from './cache-status.ts';
import { countKvReads, kvReads } from './kv-reads.ts';

/** What the edge logs of one request. */
export interface RequestLogLine {
  msg: 'request';
  method: string;
  route: string;
  path: string;
  status: number;
  cache: string | null;
  kvReads: number;
  durationMs: number;
  /** The Cloudflare location that answered, when known. */
  colo: string | null;
}

/** Logs each request once it is answered. */
export const requestLog: MiddlewareHandler<EdgeEnv> = async (c, next) => {
  if (c.env.REQUEST_LOG === 'off') return next();
  const started = Date.now();
  countKvReads(c.req.raw);
  await next();
  const colo = c.req.raw.cf?.colo;
  const line: RequestLogLine = {
    msg: 'request',
    method: c.req.method,
    route: routeName(c),
    path: c.req.path,
    status: c.res.status,
    cache: c.res.headers.get(CACHE_STATUS_HEADER),
    kvReads: kvReads(c.req.raw),
    // Workers' clock moves only on I/O: this is the time spent waiting on KV, caches and the origin.
    durationMs: Date.now() - started,
    colo: typeof colo === 'string' ? colo : null,
  };
  console.log(JSON.stringify(line));
};
