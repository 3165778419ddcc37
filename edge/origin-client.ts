/**
 * Forwards a request the edge cannot answer to the origin, signed, and streams the answer back.
 * An unreachable origin is a 503 UNAVAILABLE at once, never a hang.
 */

import type { Context } from 'hono';
import { RegistryError } from '../shared/errors.ts';
import { signRequest } from '../shared/signing.ts';
import type { EdgeEnv } from './env.ts';
import type { EdgeConfig } from './config.ts';
import { CACHE_STATUS_HEADER } from './cache-status.ts';

/** Headers of the client's request the origin may need (content negotiation, logs). */
const FORWARDED_REQUEST_HEADERS = ['accept', 'user-agent', 'range'];

/** Sends the same GET/HEAD to the origin, signed when a secret is configured. */
export async function fetchFromOrigin(config: EdgeConfig, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const pathAndQuery = `${url.pathname}${url.search}`;
  const headers = new Headers();
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  if (config.sharedSecret) {
    const signature = await signRequest(config.sharedSecret, { direction: 'edge-to-origin', method: request.method, pathAndQuery, body: new Uint8Array() });
    for (const [name, value] of Object.entries(signature)) headers.set(name, value);
  }
  // The origin must start answering within ORIGIN_TIMEOUT_SECONDS; a body already streaming is not cut.
  const answered = new AbortController();
  const timer = setTimeout(() => answered.abort(new Error('origin timeout')), config.originTimeoutSeconds * 1000);
  try {
    return await fetch(`${config.originUrl}${pathAndQuery}`, { method: request.method, headers, redirect: 'manual', signal: answered.signal });
  } catch (error) {
    const timedOut = answered.signal.aborted;
    throw new RegistryError(
      'UNAVAILABLE',
      timedOut
        ? `The origin did not answer within ${config.originTimeoutSeconds} s: cached images still pull; retry shortly`
        : 'The origin cannot be reached: cached images still pull, new ones cannot be built right now',
      { cause: error, headers: { 'Retry-After': '30' } },
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Answers the client with the origin's response, marked as a miss. */
export async function forwardToOrigin(c: Context<EdgeEnv>, config: EdgeConfig): Promise<Response> {
  const upstream = await fetchFromOrigin(config, c.req.raw);
  const headers = new Headers(upstream.headers);
  headers.set(CACHE_STATUS_HEADER, 'MISS');
  // The origin's reason phrase (an error's message, for clients that print only the status line) is kept.
  return new Response(c.req.method === 'HEAD' ? null : upstream.body, { status: upstream.status, statusText: upstream.statusText, headers });
}
