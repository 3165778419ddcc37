/**
 * Only the edge may make the origin build: with a shared secret configured, a manifest request by
 * TAG (the one kind of request that can start a build) must carry a valid signature
 * (shared/signing.ts) over its method and path+query as received with an empty body, a timestamp
 * within MAX_CLOCK_SKEW_SECONDS, and a nonce not seen before. Manifests by digest, blobs, /v2/ and
 * tags/list are content-addressed or static and stay open. Without a secret nothing is checked
 * (the origin alone, as Nixery).
 *
 * A refused request gets 401 UNAUTHORIZED saying only that signed requests are required; why it
 * was refused (missing, malformed, stale, forged, replayed) goes to the log.
 */

import type { MiddlewareHandler } from 'hono';
import { parseImageName, parseReference } from '../../shared/reference.ts';
import { RegistryError } from '../../shared/errors.ts';
import { verifyRequest } from '../../shared/signing.ts';
import type { NonceSet } from './nonce-set.ts';
import type { Logger } from '../log.ts';

export interface RequireSignatureOptions {
  /** The secret shared with the edge; undefined = no check. */
  secret: string | undefined;
  logger: Logger;
  /** Nonces already accepted (replay guard). */
  nonces: NonceSet;
  /** The clock, in epoch ms (tests). */
  now?: () => number;
}

const UNSIGNED_MESSAGE = 'This origin only answers signed requests from its edge; pull through the edge';

/** The path and query of a request URL exactly as it arrived (no normalisation). */
export function pathAndQuery(url: string): string {
  const scheme = url.indexOf('://');
  const start = url.indexOf('/', scheme === -1 ? 0 : scheme + 3);
  if (start === -1) return '/';
  const hash = url.indexOf('#', start);
  return hash === -1 ? url.slice(start) : url.slice(start, hash);
}

/**
 * Middleware for the manifests route: requests by tag must be signed when a secret is set;
 * requests by digest pass. Mount it on `/v2/:name{.+}/manifests/:reference`.
 */
export function requireSignature({ secret, logger, nonces, now = Date.now }: RequireSignatureOptions): MiddlewareHandler {
  return async (c, next) => {
    // A bad name or reference is answered as such, signed or not: it could never build.
    parseImageName(c.req.param('name') ?? '');
    const reference = parseReference(c.req.param('reference') ?? '');
    if (secret === undefined || reference.kind === 'digest') {
      await next();
      return;
    }
    const target = pathAndQuery(c.req.url);
    const at = now();
    const verification = await verifyRequest(
      secret,
      { direction: 'edge-to-origin', method: c.req.method, pathAndQuery: target, body: new Uint8Array(0) },
      (name) => c.req.header(name),
      at,
    );
    let reason: string | undefined;
    if (!verification.ok) reason = verification.reason;
    else if (!nonces.add(verification.nonce, at)) reason = 'replayed';
    if (reason !== undefined) {
      logger.warn(
        { method: c.req.method, path: target.slice(0, 512), reason, userAgent: c.req.header('user-agent') },
        'unsigned or invalid signed request refused',
      );
      throw new RegistryError('UNAUTHORIZED', UNSIGNED_MESSAGE);
    }
    await next();
  };
}
