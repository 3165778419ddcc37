/** Route names for logs and metrics: the surface's routes by name, never a path with an image name in it. */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MiddlewareHandler } from 'hono';
import { registrySurface } from './registry-surface.ts';
import { routeName } from './route-name.ts';

describe('routeName', () => {
  it('names each route of the registry surface, and everything unmatched not-found', async () => {
    const seen: string[] = [];
    const record: MiddlewareHandler = async (c, next) => {
      await next();
      seen.push(routeName(c));
    };
    const app = registrySurface({
      middleware: [record],
      manifests: (c) => c.text('m'),
      blobs: (c) => c.text('b'),
      frontPage: (c) => c.text('f'),
      gets: { '/_nixedge/status': (c) => c.text('s'), '/metrics': (c) => c.text('m') },
      posts: { '/_nixedge/write-back': { handler: (c) => c.text('w') } },
      onUnexpectedError: () => undefined,
    });
    const requests: [string, string][] = [
      ['GET', '/v2/'],
      ['GET', '/v2'],
      ['HEAD', '/v2/shell/hello/manifests/latest?ns=docker.io'],
      ['GET', `/v2/hello/blobs/sha256:${'a'.repeat(64)}`],
      ['GET', '/v2/hello/tags/list'],
      ['GET', '/'],
      ['GET', '/_nixedge/status?image=hello'],
      ['GET', '/metrics'],
      ['POST', '/_nixedge/write-back'],
      ['GET', '/favicon.ico'],
      ['PUT', '/v2/hello/manifests/latest'],
    ];
    for (const [method, path] of requests) await app.request(path, { method });
    assert.deepEqual(seen, ['base', 'base', 'manifests', 'blobs', 'tags', 'front-page', 'status', 'metrics', 'write-back', 'not-found', 'not-found']);
  });
});
