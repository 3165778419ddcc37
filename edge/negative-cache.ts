/**
 * Refusals the origin gave for a request itself (unknown packages, and any other registry 4xx
 * that is the request's), remembered briefly in this location's cache (the Workers Cache API): a
 * repeated pull of a wrong name is answered at the edge, without the origin evaluating it again.
 * Keyed by the canonical image name and tag; kept NEGATIVE_TTL_SECONDS (a moving tag may start
 * to resolve after a channel bump, so never long). Only GET answers are kept (they carry the
 * message); a HEAD is answered from them without the body.
 */

import { kvTagKey } from '../shared/keys.ts';
import { CACHE_STATUS_HEADER } from './cache-status.ts';
import { REASON_HEADER } from '../shared/error-response.ts';

/** How long a refusal is remembered. */
export const NEGATIVE_TTL_SECONDS = 60;

/** The remembered answer's real status, inside the cache. */
const STATUS_HEADER = 'x-nixedge-status';

/** Statuses of the origin that say the request is wrong and will stay wrong for a while. */
const REFUSALS = new Set([400, 404, 422]);

/** The cache key of a refusal: a URL no request can reach. */
async function cacheKey(canonicalName: string, tag: string): Promise<Request> {
  const key = await kvTagKey(canonicalName, tag);
  return new Request(`https://negative.nixedge.invalid/${key.slice('t/'.length)}`);
}

/** A remembered refusal for this image name and tag, as the answer to `method`, or undefined. */
export async function rememberedRefusal(canonicalName: string, tag: string, method: string): Promise<Response | undefined> {
  const cached = await caches.default.match(await cacheKey(canonicalName, tag));
  if (!cached) return undefined;
  const headers = new Headers(cached.headers);
  headers.set(CACHE_STATUS_HEADER, 'HIT');
  headers.set('Cache-Control', 'no-store');
  const status = Number(headers.get(STATUS_HEADER));
  const statusText = headers.get(REASON_HEADER) ?? '';
  headers.delete(STATUS_HEADER);
  headers.delete(REASON_HEADER);
  if (!REFUSALS.has(status)) return undefined;
  return new Response(method === 'HEAD' ? null : cached.body, { status, statusText, headers });
}

/**
 * Remembers `response` when it is a refusal of a GET; returns the response to send on. A refusal
 * that varies by Accept (a zstd image refused to a Docker-only client, shared/oci-only.ts) is not
 * the name's: another client may pull it, so it is never remembered.
 */
export async function rememberRefusal(canonicalName: string, tag: string, method: string, response: Response): Promise<Response> {
  // Only the registry's JSON answers, and none that depends on the client's Accept: a page made for a
  // browser, or a zstd image's refusal of a Docker-only client, must never reach another client.
  if (method !== 'GET' || !REFUSALS.has(response.status) || !(response.headers.get('content-type') ?? '').startsWith('application/json') || variesByAccept(response)) return response;
  const body = await response.arrayBuffer();
  const headers = new Headers(response.headers);
  // Caches store only some statuses (not 400) and may drop a reason phrase: both go in headers
  // of a 200 that no request can reach, and come back out in rememberedRefusal.
  headers.set('Cache-Control', `max-age=${NEGATIVE_TTL_SECONDS}`);
  headers.set(STATUS_HEADER, String(response.status));
  headers.set(REASON_HEADER, response.statusText);
  await caches.default.put(await cacheKey(canonicalName, tag), new Response(body, { status: 200, headers }));
  headers.delete(STATUS_HEADER);
  headers.delete(REASON_HEADER);
  headers.set('Cache-Control', 'no-store');
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
}

/** Whether an answer depends on the request's Accept header (its Vary names it). */
function variesByAccept(response: Response): boolean {
  return (response.headers.get('vary') ?? '').split(',').some((field) => field.trim().toLowerCase() === 'accept');
}
