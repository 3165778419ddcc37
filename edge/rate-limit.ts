/**
 * A limit on cold requests per client: manifest requests by tag that no cache answers (each may
 * make the origin evaluate, or build), counted with Cloudflare's Workers rate limiting binding
 * (COLD_REQUESTS in wrangler.toml: limit and period) by the client's address. Cached pulls never
 * count; past the limit the answer is 429 TOOMANYREQUESTS with Retry-After.
 */

import type { Context } from 'hono';
import { RegistryError } from '../shared/errors.ts';
import type { EdgeEnv } from './env.ts';

/** Seconds a limited client is told to wait (the binding's period is 10 or 60 s). */
const RETRY_AFTER_SECONDS = '60';

/** Counts one cold request for this client; throws 429 when it is over its limit. */
export async function limitColdRequests(c: Context<EdgeEnv>): Promise<void> {
  const limiter = c.env.COLD_REQUESTS;
  if (!limiter) return; // a deployment without the binding has no limit
  const client = c.req.header('cf-connecting-ip') ?? c.req.header('x-real-ip') ?? 'unknown';
  const { success } = await limiter.limit({ key: client });
  if (!success) {
    throw new RegistryError('TOOMANYREQUESTS', 'Too many requests for images that are not cached yet from your address; cached images still pull. Retry later', {
      headers: { 'Retry-After': RETRY_AFTER_SECONDS },
    });
  }
}
