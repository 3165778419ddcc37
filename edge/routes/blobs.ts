/**
 * GET|HEAD /v2/<name>/blobs/<digest> at the edge: HEAD answered from the size in KV; GET
 * redirected (307) to where the blob lives. Blobs KV does not know yet go to the origin, which
 * serves them or answers 404 BLOB_UNKNOWN.
 */

import type { Context } from 'hono';
import { parseDigest } from '../../shared/digest.ts';
import { parseImageName } from '../../shared/reference.ts';
import { CACHE_CONTROL } from '../../shared/http.ts';
import type { EdgeEnv } from '../env.ts';
import { edgeConfig } from '../config.ts';
import { EdgeCache } from '../cache.ts';
import { CACHE_STATUS_HEADER } from '../cache-status.ts';
import { forwardToOrigin } from '../origin-client.ts';
import { blobLocation, redirectCacheControl } from '../blob-url.ts';
import { requestKv } from '../kv-reads.ts';

/** Serves a blob HEAD, or redirects a blob GET, without the origin when KV knows the blob. */
export async function serveBlob(c: Context<EdgeEnv>): Promise<Response> {
  const config = edgeConfig(c.env);
  const repositoryName = c.req.param('name') ?? '';
  parseImageName(repositoryName);
  const digest = parseDigest(c.req.param('digest') ?? '');
  const size = await new EdgeCache(requestKv(c)).blobSize(digest);
  if (size === undefined) return forwardToOrigin(c, config);
  if (c.req.method === 'HEAD') {
    // Signed URLs are bound to GET: a HEAD is answered here, never redirected.
    return new Response(null, {
      status: 200,
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(size),
        'Docker-Content-Digest': digest,
        'Accept-Ranges': 'bytes',
        'Cache-Control': CACHE_CONTROL.immutable,
        [CACHE_STATUS_HEADER]: 'HIT',
      },
    });
  }
  return new Response(null, {
    status: 307,
    headers: {
      Location: await blobLocation(config.blobRedirect, repositoryName, digest),
      'Docker-Content-Digest': digest,
      // A signed URL expires: its redirect may be cached only briefly, and privately.
      'Cache-Control': redirectCacheControl(config.blobRedirect),
      [CACHE_STATUS_HEADER]: 'HIT',
    },
  });
}
