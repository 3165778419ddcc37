/**
 * The origin's registry: the read side of the OCI distribution API. Only GET and HEAD exist;
 * the method guard is mounted once, errors are rendered in one place.
 */

import { Hono } from 'hono';
import { RegistryError } from '../../shared/errors.ts';
import { parseImageName } from '../../shared/reference.ts';
import type { Logger } from '../log.ts';
import type { ImageBuilder } from '../builder/image-builder.ts';
import type { Storage } from '../storage/storage.ts';
import { errorResponse } from './error-response.ts';
import { API_VERSION_HEADER } from '../../shared/error-response.ts';
import { serveManifest, type TagResolvedHook } from './manifests.ts';
import { requireSignature } from './require-signature.ts';
import { NonceSet } from './nonce-set.ts';
import { serveBlob } from './blobs.ts';

export interface RegistryAppOptions {
  builder: ImageBuilder;
  storage: Storage;
  logger: Logger;
  /** The secret shared with the edge: manifest requests by tag must then be signed by it. */
  sharedSecret?: string | undefined;
  /** Called when a manifest request by tag resolved (write-back to the edge). */
  onTagResolved?: TagResolvedHook | undefined;
}


/** Builds the Hono app serving /v2 from the image builder and storage. */
export function createRegistryApp({ builder, storage, logger, sharedSecret, onTagResolved }: RegistryAppOptions): Hono {
  const app = new Hono();

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    for (const [header, value] of Object.entries(API_VERSION_HEADER)) c.res.headers.set(header, value);
    logger.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        durationMs: Math.round(performance.now() - started),
        userAgent: c.req.header('user-agent'),
      },
      'request',
    );
  });

  app.use('*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      throw new RegistryError('UNSUPPORTED', `This registry is read-only: ${c.req.method} is not supported`);
    }
    await next();
  });

  app.on(['GET', 'HEAD'], '/v2', (c) => c.json({}));
  app.on(['GET', 'HEAD'], '/v2/', (c) => c.json({}));
  app.on(
    ['GET', 'HEAD'],
    '/v2/:name{.+}/manifests/:reference',
    requireSignature({ secret: sharedSecret, logger, nonces: new NonceSet() }),
    (c) => serveManifest(c, builder, storage, onTagResolved),
  );
  app.on(['GET', 'HEAD'], '/v2/:name{.+}/blobs/:digest', (c) => serveBlob(c, storage));
  // Every name has the tag `latest`; other tags (branches, commits, channels) are built on demand.
  app.on(['GET', 'HEAD'], '/v2/:name{.+}/tags/list', (c) => {
    const name = c.req.param('name');
    parseImageName(name);
    return c.json({ name, tags: ['latest'] });
  });
  app.get('/', (c) =>
    c.text('nixedge: container images of Nix packages. Pull <this host>/shell/hello:latest with any registry client.\n'),
  );

  app.notFound(() =>
    errorResponse(
      new RegistryError('NAME_UNKNOWN', 'No such endpoint: this registry serves /v2/<packages>/manifests/<reference> and /v2/<packages>/blobs/<digest>'),
      logger,
    ),
  );
  app.onError((error) => errorResponse(error, logger));
  return app;
}
