/**
 * The edge Worker: answers cached pulls from Workers KV, redirects blobs to object storage, and
 * forwards misses to the origin. Only GET and HEAD exist (plus the origin's signed write-back);
 * the method guard is mounted once; errors are rendered in one place.
 */

import { Hono } from 'hono';
import { RegistryError } from '../shared/errors.ts';
import { parseImageName } from '../shared/reference.ts';
import { API_VERSION_HEADER, registryErrorResponse } from '../shared/error-response.ts';
import { WRITE_BACK_PATH } from '../shared/protocol.ts';
import type { EdgeEnv } from './env.ts';
import { serveManifest } from './routes/manifests.ts';
import { serveBlob } from './routes/blobs.ts';
import { receiveWriteBack } from './routes/write-back.ts';

export const app = new Hono<EdgeEnv>();

app.use('*', async (c, next) => {
  await next();
  if (c.req.path.startsWith('/v2')) {
    for (const [header, value] of Object.entries(API_VERSION_HEADER)) c.res.headers.set(header, value);
  }
});

app.use('*', async (c, next) => {
  const allowed = c.req.method === 'GET' || c.req.method === 'HEAD' || (c.req.method === 'POST' && c.req.path === WRITE_BACK_PATH);
  if (!allowed) throw new RegistryError('UNSUPPORTED', `This registry is read-only: ${c.req.method} is not supported`);
  await next();
});

app.on(['GET', 'HEAD'], '/v2', (c) => c.json({}));
app.on(['GET', 'HEAD'], '/v2/', (c) => c.json({}));
app.on(['GET', 'HEAD'], '/v2/:name{.+}/manifests/:reference', serveManifest);
app.on(['GET', 'HEAD'], '/v2/:name{.+}/blobs/:digest', serveBlob);
// Every name has the tag `latest`; other tags (branches, commits, channels) are built on demand.
app.on(['GET', 'HEAD'], '/v2/:name{.+}/tags/list', (c) => {
  const name = c.req.param('name');
  parseImageName(name);
  return c.json({ name, tags: ['latest'] });
});
app.post(WRITE_BACK_PATH, receiveWriteBack);
app.get('/', (c) => c.text('nixedge: container images of Nix packages. Pull <this host>/shell/hello:latest with any registry client.\n'));

app.notFound(() =>
  registryErrorResponse(
    new RegistryError('NAME_UNKNOWN', 'No such endpoint: this registry serves /v2/<packages>/manifests/<reference> and /v2/<packages>/blobs/<digest>'),
  ),
);
app.onError((error) => {
  if (error instanceof RegistryError) return registryErrorResponse(error);
  console.error(JSON.stringify({ msg: 'unexpected error', error: String(error), stack: error instanceof Error ? error.stack : undefined }));
  return registryErrorResponse(new RegistryError('UNKNOWN', 'internal error'));
});

export default app;
