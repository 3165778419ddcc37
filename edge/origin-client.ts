/**
 * Forwards a request the edge cannot answer to an origin, signed, and streams the answer back.
 * With several origins (ORIGIN_URLS) each image has its own order of them, by rendezvous hashing
 * of its canonical name and tag (shared/rendezvous.ts), so pulls of one image from every location
 * meet at one origin's single flight. The next origin in that order is tried when one refuses the
 * connection, does not start answering within ORIGIN_TIMEOUT_SECONDS, or answers a 5xx that is not
 * a registry error (a proxy's 502, a crashed process behind a load balancer); a registry error of
 * the build itself (503 NIX_TIMEOUT, storage unavailable) is the answer, as another origin would
 * only do the same work again. An origin that failed is tried last for a while (origin-health.ts).
 * When none answers: 503 UNAVAILABLE, never a hang.
 */

import type { Context } from 'hono';
import { STATUS_PATH } from '../shared/build-status.ts';
import { ERROR_TABLE, RegistryError } from '../shared/errors.ts';
import { parseImageName } from '../shared/reference.ts';
import { rendezvousOrder, routingKey } from '../shared/rendezvous.ts';
import { signRequest } from '../shared/signing.ts';
import type { EdgeEnv } from './env.ts';
import type { EdgeConfig } from './config.ts';
import { CACHE_STATUS_HEADER } from './cache-status.ts';
import { originHealth } from './origin-health.ts';

/** Headers of the client's request the origin may need (content negotiation, logs). */
const FORWARDED_REQUEST_HEADERS = ['accept', 'user-agent', 'range'];

/** The most of a 5xx body read to tell a registry error from anything else (error bodies are small). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** Why an origin was passed over. */
type Failure = 'timeout' | 'unreachable' | 'not-a-registry-error';

/**
 * The routing key of a request: the image's canonical name and its tag or digest, for a registry
 * path and for the build status of one image (so it asks the origin that builds it).
 */
function routingKeyOf(url: URL): string {
  const match = /^\/v2\/(.+)\/(?:manifests|blobs)\/([^/]+)$/.exec(url.pathname);
  const image = match?.[1] ?? (url.pathname === STATUS_PATH ? url.searchParams.get('image') : null);
  const reference = match?.[2] ?? url.searchParams.get('tag') ?? 'latest';
  if (!image) return url.pathname;
  try {
    return routingKey(parseImageName(image).canonical, reference);
  } catch {
    return url.pathname; // the routes refuse invalid names before any miss; a bad status query finds nothing anywhere
  }
}

/** Whether a 5xx body is the registry's error format with a code of the table. */
function isRegistryErrorBody(text: string): boolean {
  try {
    const body = JSON.parse(text) as { errors?: { code?: unknown }[] };
    const code = body.errors?.[0]?.code;
    return typeof code === 'string' && code in ERROR_TABLE;
  } catch {
    return false;
  }
}

/** One attempt at one origin: its answer, or why it was passed over. */
async function tryOrigin(origin: string, config: EdgeConfig, method: string, pathAndQuery: string, headers: Headers): Promise<Response | Failure> {
  const signed = new Headers(headers);
  if (config.sharedSecret) {
    const signature = await signRequest(config.sharedSecret, { direction: 'edge-to-origin', method, pathAndQuery, body: new Uint8Array() });
    for (const [name, value] of Object.entries(signature)) signed.set(name, value);
  }
  // The origin must start answering within ORIGIN_TIMEOUT_SECONDS; a body already streaming is not cut.
  const answered = new AbortController();
  const timer = setTimeout(() => answered.abort(new Error('origin timeout')), config.originTimeoutSeconds * 1000);
  try {
    const response = await fetch(`${origin}${pathAndQuery}`, { method, headers: signed, redirect: 'manual', signal: answered.signal });
    if (response.status < 500) return response;
    const length = Number(response.headers.get('content-length') ?? '0');
    const text = length > MAX_ERROR_BODY_BYTES || method === 'HEAD' ? '' : await response.text();
    if (method === 'HEAD' ? response.headers.get('content-type')?.startsWith('application/json') === true : isRegistryErrorBody(text)) {
      return new Response(method === 'HEAD' ? null : text, { status: response.status, statusText: response.statusText, headers: response.headers });
    }
    await response.body?.cancel();
    return 'not-a-registry-error';
  } catch {
    return answered.signal.aborted ? 'timeout' : 'unreachable';
  } finally {
    clearTimeout(timer);
  }
}

/** Sends the same GET/HEAD to this image's origins in turn, signed when a secret is configured, until one answers. */
export async function fetchFromOrigin(config: EdgeConfig, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const pathAndQuery = `${url.pathname}${url.search}`;
  const headers = new Headers();
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  const order = originHealth.healthyFirst(await rendezvousOrder(routingKeyOf(url), config.originUrls));
  const failures: Failure[] = [];
  for (const origin of order) {
    const outcome = await tryOrigin(origin, config, request.method, pathAndQuery, headers);
    if (typeof outcome !== 'string') {
      originHealth.markHealthy(origin);
      return outcome;
    }
    originHealth.markUnhealthy(origin);
    failures.push(outcome);
    console.warn(JSON.stringify({ msg: 'origin failed', origin, failure: outcome, path: url.pathname, next: order[failures.length] ?? null }));
  }
  throw new RegistryError('UNAVAILABLE', unavailableMessage(failures, config), { headers: { 'Retry-After': '30' } });
}

/** Sends the same GET to every origin at once (one attempt each); the answers of those that answered 2xx. */
export async function fetchFromEveryOrigin(config: EdgeConfig, request: Request): Promise<Response[]> {
  const url = new URL(request.url);
  const outcomes = await Promise.all(config.originUrls.map((origin) => tryOrigin(origin, config, 'GET', `${url.pathname}${url.search}`, new Headers(request.headers))));
  const answered: Response[] = [];
  for (const outcome of outcomes) {
    if (typeof outcome === 'string') continue;
    if (outcome.ok) answered.push(outcome);
    else await outcome.body?.cancel();
  }
  if (answered.length === 0) throw new RegistryError('UNAVAILABLE', 'No origin answered', { headers: { 'Retry-After': '30' } });
  return answered;
}

/** What the client is told when no origin answered. */
function unavailableMessage(failures: readonly Failure[], config: EdgeConfig): string {
  const cached = 'cached images still pull';
  if (failures.length === 1) {
    if (failures[0] === 'timeout') return `The origin did not answer within ${config.originTimeoutSeconds} s: ${cached}; retry shortly`;
    if (failures[0] === 'unreachable') return `The origin cannot be reached: ${cached}, new ones cannot be built right now`;
    return `The origin failed: ${cached}; retry shortly`;
  }
  const said = { timeout: `did not answer within ${config.originTimeoutSeconds} s`, unreachable: 'could not be reached', 'not-a-registry-error': 'failed' };
  const counts = (['timeout', 'unreachable', 'not-a-registry-error'] as const)
    .map((failure) => [failures.filter((f) => f === failure).length, said[failure]] as const)
    .filter(([n]) => n > 0)
    .map(([n, what]) => `${n} ${what}`);
  return `No origin answered (${counts.join(', ')}): ${cached}, new ones cannot be built right now`;
}

/** Answers the client with the origin's response, marked as a miss. */
export async function forwardToOrigin(c: Context<EdgeEnv>, config: EdgeConfig): Promise<Response> {
  const upstream = await fetchFromOrigin(config, c.req.raw);
  const headers = new Headers(upstream.headers);
  headers.set(CACHE_STATUS_HEADER, 'MISS');
  // The origin's reason phrase (an error's message, for clients that print only the status line) is kept.
  return new Response(c.req.method === 'HEAD' ? null : upstream.body, { status: upstream.status, statusText: upstream.statusText, headers });
}
