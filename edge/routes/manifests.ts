/**
 * GET|HEAD /v2/<name>/manifests/<tag|digest> at the edge: a hit by digest is one KV read, a hit
 * by tag two (pointer, manifest); a stale tag is served while the origin refreshes it in the
 * background; anything else goes to the origin.
 */

import type { Context } from 'hono';
import type { Digest } from '../../shared/digest.ts';
import { negotiateManifest } from '../../shared/media-types.ts';
import { parseImageName, parseReference } from '../../shared/reference.ts';
import { CACHE_CONTROL, VARY_ACCEPT } from '../../shared/http.ts';
import type { RegistryError } from '../../shared/errors.ts';
import { registryErrorResponse } from '../../shared/error-response.ts';
import { ociOnlyRefusal } from '../../shared/oci-only.ts';
import type { EdgeEnv } from '../env.ts';
import { edgeConfig, type EdgeConfig } from '../config.ts';
import { EdgeCache, type CachedManifest } from '../cache.ts';
import { CACHE_STATUS_HEADER, type CacheStatus } from '../cache-status.ts';
import { fetchFromOrigin, forwardToOrigin } from '../origin-client.ts';
import { rememberedRefusal, rememberRefusal } from '../negative-cache.ts';
import { limitColdRequests } from '../rate-limit.ts';
import { requestKv } from '../kv-reads.ts';

/** Serves a manifest from KV, or from the origin on a miss. */
export async function serveManifest(c: Context<EdgeEnv>): Promise<Response> {
  const config = edgeConfig(c.env);
  const name = parseImageName(c.req.param('name') ?? '');
  const reference = parseReference(c.req.param('reference') ?? '');
  const cache = new EdgeCache(requestKv(c));

  if (reference.kind === 'digest') {
    const hit = await cache.manifest(reference.digest);
    return hit ? manifestResponse(c, hit, reference.digest, 'HIT', { 'Cache-Control': CACHE_CONTROL.immutable }) : forwardToOrigin(c, config);
  }

  const pointer = await cache.tagPointer(name.canonical, reference.tag);
  if (pointer) {
    const flavour = negotiateManifest(c.req.header('accept'), { lists: pointer.manifests['oci-index'] !== undefined });
    const descriptor = pointer.manifests[flavour];
    const hit = descriptor && (await cache.manifest(descriptor.digest));
    if (descriptor && hit) {
      const fresh = pointer.freshUntil === null || pointer.freshUntil > Date.now();
      if (!fresh) c.executionCtx.waitUntil(cache.refreshOnce(name.canonical, reference.tag, () => refreshTag(config, c.req.raw)));
      const request = { name: c.req.param('name') ?? '', tag: reference.tag, flavour, userAgent: c.req.header('user-agent') };
      const ociOnly = await ociOnlyRefusal(request, { mediaType: hit.mediaType, body: new Uint8Array(hit.bytes) }, async (digest) => {
        const manifest = await cache.manifest(digest);
        return manifest && { mediaType: manifest.mediaType, body: new Uint8Array(manifest.bytes) };
      });
      if (ociOnly) return refusalResponse(ociOnly, fresh ? 'HIT' : 'STALE');
      const cacheControl = pointer.pinned ? CACHE_CONTROL.negotiatedImmutable : CACHE_CONTROL.negotiatedRevalidate;
      return manifestResponse(c, hit, descriptor.digest, fresh ? 'HIT' : 'STALE', { 'Cache-Control': cacheControl, ...VARY_ACCEPT });
    }
  }
  // Not cached: a name the origin refused a moment ago is refused again here; anything else may
  // build, so it counts against the client's limit of cold requests.
  const refused = await rememberedRefusal(name.canonical, reference.tag, c.req.method);
  if (refused) return refused;
  await limitColdRequests(c);
  return rememberRefusal(name.canonical, reference.tag, c.req.method, await forwardToOrigin(c, config));
}

/** A registry error answered from the cache (zstd images to Docker-only clients), marked with how. */
function refusalResponse(error: RegistryError, status: CacheStatus): Response {
  const response = registryErrorResponse(error);
  response.headers.set(CACHE_STATUS_HEADER, status);
  return response;
}

/** A manifest response with every header clients rely on, for GET and HEAD alike. */
function manifestResponse(c: Context<EdgeEnv>, manifest: CachedManifest, digest: Digest, status: CacheStatus, caching: Record<string, string>): Response {
  return new Response(c.req.method === 'HEAD' ? null : manifest.bytes, {
    status: 200,
    headers: {
      'Content-Type': manifest.mediaType,
      'Content-Length': String(manifest.bytes.byteLength),
      'Docker-Content-Digest': digest,
      ETag: `"${digest}"`,
      ...caching,
      [CACHE_STATUS_HEADER]: status,
    },
  });
}

/**
 * Asks the origin for a stale tag again (HEAD, so nothing is streamed back); the origin resolves
 * it, rebuilding if the revision moved, and writes the new pointer back. One refresh per tag at a
 * time (EdgeCache.refreshOnce); the origin's single flight joins any that still meet there.
 */
async function refreshTag(config: EdgeConfig, request: Request): Promise<void> {
  try {
    const response = await fetchFromOrigin(config, new Request(request.url, { method: 'HEAD', headers: request.headers }));
    if (!response.ok) console.warn(JSON.stringify({ msg: 'tag refresh failed', url: request.url, status: response.status }));
  } catch (error) {
    console.warn(JSON.stringify({ msg: 'tag refresh failed', url: request.url, error: String(error) }));
  }
}
