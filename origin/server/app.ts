/**
 * The origin's registry: the shared registry surface (shared/registry-surface.ts) with the
 * origin's handlers: manifests built on demand by tag (signed by the edge when a secret is set),
 * blobs streamed from storage, and a log line per request.
 */

import type { Handler, Hono, MiddlewareHandler } from 'hono';
import { registrySurface } from '../../shared/registry-surface.ts';
import type { Logger } from '../log.ts';
import type { ImageResolver } from '../builder/resolved-image.ts';
import type { Storage } from '../storage/storage.ts';
import { originRegistryError } from './error-response.ts';
import { serveManifest, type ManifestServedHook, type TagResolvedHook } from './manifests.ts';
import { requireSignature } from './require-signature.ts';
import { NonceSet } from './nonce-set.ts';
import { serveBlob } from './blobs.ts';
import { frontPage } from '../../shared/front-page.ts';
import { SIGNATURE_HEADERS } from '../../shared/signing.ts';
import { STATUS_PATH } from '../../shared/build-status.ts';
import type { BuildStatus } from '../status/build-status.ts';
import { serveStatus, type QueueStats } from './status-route.ts';
import type { OriginMetrics } from '../metrics/metrics.ts';
import { requestMetrics } from '../metrics/request-metrics.ts';
import { METRICS_PATH, metricsWithToken } from '../metrics/metrics-endpoint.ts';

export interface RegistryAppOptions {
  /** Resolves (and builds) images by name and tag. */
  images: ImageResolver;
  storage: Storage;
  logger: Logger;
  /** The secret shared with the edge: manifest requests by tag must then be signed by it. */
  sharedSecret?: string | undefined;
  /** Called when a manifest request by tag resolved (write-back to the edge). */
  onTagResolved?: TagResolvedHook | undefined;
  /** Called with each manifest served, by tag or digest (recording use for bucket GC). */
  onManifestServed?: ManifestServedHook | undefined;
  /** The builds in flight and lately, served at STATUS_PATH with the queues' state. */
  status?: { builds: BuildStatus; queues: QueueStats } | undefined;
  /** Every request counted into these metrics; served at /metrics on this port only with `token` (METRICS_TOKEN). */
  metrics?: { metrics: OriginMetrics; token: string | undefined } | undefined;
}

/** The origin's registry app. */
export function createRegistryApp({ images, storage, logger, sharedSecret, onTagResolved, onManifestServed, status, metrics }: RegistryAppOptions): Hono {
  const gets: Record<string, Handler> = {};
  if (status) gets[STATUS_PATH] = serveStatus(status.builds, status.queues);
  if (metrics?.token !== undefined) gets[METRICS_PATH] = metricsWithToken(metrics.metrics, metrics.token);
  return registrySurface({
    middleware: metrics ? [requestLog(logger), requestMetrics(metrics.metrics)] : [requestLog(logger)],
    manifestsGuard: requireSignature({ secret: sharedSecret, logger, nonces: new NonceSet() }),
    manifests: (c) => serveManifest(c, images, storage, onTagResolved, onManifestServed),
    blobs: (c) => serveBlob(c, storage),
    frontPage,
    gets,
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
