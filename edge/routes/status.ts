/**
 * GET|HEAD STATUS_PATH at the edge: the origin's build status passed through, so the front page
 * served here can show builds live. With several origins (ORIGIN_URLS), one image's status comes
 * from the origin its pulls go to, and the registry's from every origin, merged. Kept STATUS_CACHE_SECONDS in this isolate's memory and in the
 * location's cache (the Workers Cache API), by full URL: however many pages poll it, the origin
 * answers each query at most about once per location every two seconds.
 */

import type { Context } from 'hono';
import { LRUCache } from 'lru-cache';
import type { EdgeEnv } from '../env.ts';
import { edgeConfig } from '../config.ts';
import { CACHE_STATUS_HEADER } from '../cache-status.ts';
import { fetchFromEveryOrigin, fetchFromOrigin } from '../origin-client.ts';
import { mergeStatusDocuments, type StatusDocument } from '../../shared/build-status.ts';

/** How long an answer of the origin is reused. */
export const STATUS_CACHE_SECONDS = 2;

/** This isolate's recent answers: body and when it expires. */
const memory = new LRUCache<string, { body: string; expires: number }>({ max: 200 });

/** The origin's status for this URL, from memory, the location's cache or the origin. */
export async function serveStatus(c: Context<EdgeEnv>): Promise<Response> {
  const url = new URL(c.req.url);
  const key = `${url.pathname}${url.search}`;
  const remembered = memory.get(key);
  if (remembered && remembered.expires > Date.now()) return statusResponse(c, remembered.body, 'HIT');
  const cacheKey = new Request(`https://status.nixedge.invalid${key}`);
  const cached = await caches.default.match(cacheKey);
  if (cached) {
    const body = await cached.text();
    memory.set(key, { body, expires: Date.now() + STATUS_CACHE_SECONDS * 1000 });
    return statusResponse(c, body, 'HIT');
  }
  const config = edgeConfig(c.env);
  const request = new Request(url, { method: 'GET', headers: { Accept: 'application/json' } });
  // One image's builds are at the origin its pulls go to; the whole registry's, at every origin.
  const upstream =
    config.originUrls.length > 1 && !url.searchParams.has('image')
      ? Response.json(mergeStatusDocuments(await Promise.all((await fetchFromEveryOrigin(config, request)).map(async (answer) => (await answer.json()) as StatusDocument))))
      : await fetchFromOrigin(config, request);
  if (!upstream.ok) {
    const headers = new Headers(upstream.headers);
    headers.set(CACHE_STATUS_HEADER, 'MISS');
    return new Response(c.req.method === 'HEAD' ? null : upstream.body, { status: upstream.status, statusText: upstream.statusText, headers });
  }
  const body = await upstream.text();
  memory.set(key, { body, expires: Date.now() + STATUS_CACHE_SECONDS * 1000 });
  const stored = new Response(body, { headers: { 'Content-Type': 'application/json', 'Cache-Control': `max-age=${STATUS_CACHE_SECONDS}` } });
  c.executionCtx.waitUntil(caches.default.put(cacheKey, stored));
  return statusResponse(c, body, 'MISS');
}

/** The status as answered to the client: JSON, reusable by nobody else for longer than the edge does. */
function statusResponse(c: Context<EdgeEnv>, body: string, cache: 'HIT' | 'MISS'): Response {
  return new Response(c.req.method === 'HEAD' ? null : body, {
    status: 200,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': `public, max-age=${STATUS_CACHE_SECONDS}`, [CACHE_STATUS_HEADER]: cache },
  });
}
