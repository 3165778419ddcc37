/**
 * The registry surface the edge and the origin share: one Hono app shape for both, so the two
 * tiers cannot drift apart. It mounts, once:
 *
 *   - the method guard: only GET and HEAD (plus the POST routes a tier declares) reach a handler;
 *     anything else is 405 UNSUPPORTED;
 *   - `GET|HEAD /v2/` (the API version check), `/v2/<name>/tags/list`, and the page at `/`;
 *   - read-only routes a tier adds outside /v2 (the build status, the origin's metrics);
 *   - the manifests and blobs routes, whose handlers each tier brings;
 *   - the not-found answer (404 NAME_UNKNOWN) and the one error renderer: a RegistryError (or an
 *     error the tier maps to one) becomes `{"errors":[...]}` with its status; anything else is
 *     reported to the tier and answered 500 UNKNOWN without details; a browser (Accept: text/html)
 *     gets the same status with a short HTML page instead of the JSON (./web/html-errors.ts).
 *
 * Every /v2 answer carries `Docker-Distribution-API-Version`. Query strings never change which
 * route answers (containerd mirrors add `?ns=`). The behaviour is one test suite,
 * ./registry-surface.cases.ts, that both tiers' tests run against their real app.
 */

import { Hono, type Context, type Env, type Handler, type MiddlewareHandler } from 'hono';
import { RegistryError } from './errors.ts';
import { registryErrorResponse } from './error-response.ts';
import { API_VERSION_HEADER } from './http.ts';
import { parseImageName } from './reference.ts';
import { htmlErrors } from './web/html-errors.ts';

export interface RegistrySurface<E extends Env> {
  /** GET|HEAD /v2/<name>/manifests/<reference>. */
  manifests: Handler<E>;
  /** Middleware in front of the manifests route only (the origin's signature check). */
  manifestsGuard?: MiddlewareHandler<E>;
  /** GET|HEAD /v2/<name>/blobs/<digest>. */
  blobs: Handler<E>;
  /** GET|HEAD / : what a person opening the registry's address sees. */
  frontPage: Handler<E>;
  /** Middleware around every request, outermost first (request logs). */
  middleware?: MiddlewareHandler<E>[];
  /** Read-only GET|HEAD routes outside /v2 (the build status, metrics), by path. */
  gets?: Record<string, Handler<E>>;
  /** Which failed requests accepting text/html get an HTML page (default: all). */
  htmlErrorsFor?: (c: Context<E>) => boolean;
  /** POST routes outside /v2 (the edge's signed write-back), each with an optional guard; every other POST is refused. */
  posts?: Record<string, { guard?: MiddlewareHandler<E>; handler: Handler<E> }>;
  /** A tier's own errors as registry errors (the origin's storage errors); undefined = unexpected. */
  toRegistryError?: (error: unknown) => RegistryError | undefined;
  /** Told of every error that is not a registry error, before it is answered 500 UNKNOWN. */
  onUnexpectedError: (error: unknown, c: Context<E>) => void;
}

/** Where the registry's answers are documented in not-found errors. */
const ROUTES = 'this registry serves /v2/<packages>/manifests/<reference> and /v2/<packages>/blobs/<digest>';

/** A Hono app serving the registry surface with a tier's handlers. */
export function registrySurface<E extends Env>(surface: RegistrySurface<E>): Hono<E> {
  const app = new Hono<E>();
  const posts = surface.posts ?? {};
  for (const middleware of surface.middleware ?? []) app.use('*', middleware);
  app.use('*', htmlErrors(surface.htmlErrorsFor));

  app.use('*', async (c, next) => {
    await next();
    if (c.req.path === '/v2' || c.req.path.startsWith('/v2/')) {
      for (const [header, value] of Object.entries(API_VERSION_HEADER)) c.res.headers.set(header, value);
    }
  });
  app.use('*', async (c, next) => {
    const allowed = c.req.method === 'GET' || c.req.method === 'HEAD' || (c.req.method === 'POST' && Object.hasOwn(posts, c.req.path));
    if (!allowed) throw new RegistryError('UNSUPPORTED', `This registry is read-only: ${c.req.method} is not supported`);
    await next();
  });

  app.on(['GET', 'HEAD'], '/v2', (c) => c.json({}));
  app.on(['GET', 'HEAD'], '/v2/', (c) => c.json({}));
  if (surface.manifestsGuard) app.on(['GET', 'HEAD'], '/v2/:name{.+}/manifests/:reference', surface.manifestsGuard, surface.manifests);
  else app.on(['GET', 'HEAD'], '/v2/:name{.+}/manifests/:reference', surface.manifests);
  app.on(['GET', 'HEAD'], '/v2/:name{.+}/blobs/:digest', surface.blobs);
  // Every name has the tag `latest`; other tags (branches, commits, channels) are built on demand.
  app.on(['GET', 'HEAD'], '/v2/:name{.+}/tags/list', (c) => {
    const name = c.req.param('name');
    parseImageName(name);
    return c.json({ name, tags: ['latest'] });
  });
  app.on(['GET', 'HEAD'], '/', surface.frontPage);
  for (const [path, handler] of Object.entries(surface.gets ?? {})) app.on(['GET', 'HEAD'], path, handler);
  for (const [path, { guard, handler }] of Object.entries(posts)) {
    if (guard) app.post(path, guard, handler);
    else app.post(path, handler);
  }

  app.notFound(() => registryErrorResponse(new RegistryError('NAME_UNKNOWN', `No such endpoint: ${ROUTES}`)));
  app.onError((error, c) => {
    const registryError = error instanceof RegistryError ? error : surface.toRegistryError?.(error);
    if (registryError) return registryErrorResponse(registryError);
    surface.onUnexpectedError(error, c);
    return registryErrorResponse(new RegistryError('UNKNOWN', 'internal error'));
  });
  return app;
}
