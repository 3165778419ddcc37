/**
 * The origin's registry: the shared registry surface (shared/registry-surface.ts) with the
 * origin's handlers: manifests built on demand by tag (signed by the edge when a secret is set),
 * blobs streamed from storage, and a log line per request.
 */

import type { Hono, MiddlewareHandler } from 'hono';
import { registrySurface } from '../../shared/registry-surface.ts';
import type { Logger } from '../log.ts';
import type { ImageResolver } from '../builder/resolved-image.ts';
import type { Storage } from '../storage/storage.ts';
import { originRegistryError } from './error-response.ts';
import { serveManifest, type TagResolvedHook } from './manifests.ts';
import { requireSignature } from './require-signature.ts';
import { NonceSet } from './nonce-set.ts';
import { serveBlob } from './blobs.ts';
import { frontPage } from '../../shared/front-page.ts';
import { SIGNATURE_HEADERS } from '../../shared/signing.ts';
import { STATUS_PATH } from '../../shared/build-status.ts';
import type { BuildStatus } from '../status/build-status.ts';
import { serveStatus, type QueueStats } from './status-route.ts';

export interface RegistryAppOptions {
  /** Resolves (and builds) images by name and tag. */
  images: ImageResolver;
  storage: Storage;
  logger: Logger;
  /** The secret shared with the edge: manifest requests by tag must then be signed by it. */
  sharedSecret?: string | undefined;
  /** Called when a manifest request by tag resolved (write-back to the edge). */
  onTagResolved?: TagResolvedHook | undefined;
  /** The builds in flight and lately, served at STATUS_PATH with the queues' state. */
  status?: { builds: BuildStatus; queues: QueueStats } | undefined;
}

/** The origin's registry app. */
export function createRegistryApp({ images, storage, logger, sharedSecret, onTagResolved, status }: RegistryAppOptions): Hono {
  return registrySurface({
    middleware: [requestLog(logger)],
    manifestsGuard: requireSignature({ secret: sharedSecret, logger, nonces: new NonceSet() }),
    manifests: (c) => serveManifest(c, images, storage, onTagResolved),
    blobs: (c) => serveBlob(c, storage),
    frontPage,
    gets: status ? { [STATUS_PATH]: serveStatus(status.builds, status.queues) } : {},
    // The edge's requests get JSON whatever the browser behind it accepts: the edge makes the page.
    htmlErrorsFor: (c) => c.req.header(SIGNATURE_HEADERS.signature) === undefined,
    toRegistryError: (error) => originRegistryError(error, logger),
    onUnexpectedError: (error) => logger.error({ err: error }, 'unexpected error'),
  });
}

/** One log line per request, with its status and duration. */
function requestLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    logger.info(
      { method: c.req.method, path: c.req.path, status: c.res.status, durationMs: Math.round(performance.now() - started), userAgent: c.req.header('user-agent') },
      'request',
    );
  };
}
