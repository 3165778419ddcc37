/**
 * POST /_nixedge/write-back: the origin writes an image's manifests, tag pointer and blob sizes
 * into KV. Authenticated with HMAC (shared/signing.ts); forged, unsigned, stale, replayed,
 * oversized or malformed writes are refused and write nothing.
 */

import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { RegistryError } from '../../shared/errors.ts';
import { parseImageName } from '../../shared/reference.ts';
import { MANIFEST_MEDIA_TYPES } from '../../shared/media-types.ts';
import { MAX_WRITE_BACK_BYTES, writeBackSchema, type WriteBack } from '../../shared/protocol.ts';
import { verifyRequest } from '../../shared/signing.ts';
import { sha256Digest } from '../../shared/digest.ts';
import type { EdgeEnv } from '../env.ts';
import { edgeConfig } from '../config.ts';
import { EdgeCache } from '../cache.ts';
import { requestKv } from '../kv-reads.ts';


/** Verifies and applies one write-back; 204 when everything was written. */
export async function receiveWriteBack(c: Context<EdgeEnv>): Promise<Response> {
  const config = edgeConfig(c.env);
  if (!config.sharedSecret) throw new RegistryError('DENIED', 'Write-back is disabled: the edge has no NIXEDGE_SHARED_SECRET');
  const body = new Uint8Array(await c.req.arrayBuffer());
  const url = new URL(c.req.url);
  const verification = await verifyRequest(
    config.sharedSecret,
    { direction: 'origin-to-edge', method: c.req.method, pathAndQuery: `${url.pathname}${url.search}`, body },
    (name) => c.req.header(name),
  );
  if (!verification.ok) {
    console.warn(JSON.stringify({ msg: 'write-back refused', reason: verification.reason }));
    throw new RegistryError('UNAUTHORIZED', 'Write-back requires a valid signature');
  }
  const writeBack = parseWriteBack(body);
  await checkManifests(writeBack);
  const tagCanonical = writeBack.tag ? parseImageName(writeBack.tag.name).canonical : undefined;

  const cache = new EdgeCache(requestKv(c), { retentionSeconds: config.kvRetentionSeconds });
  if (!(await cache.claimNonce(verification.nonce))) {
    throw new RegistryError('UNAUTHORIZED', 'Write-back requires a valid signature');
  }
  // Manifests and blob sizes first, the tag pointer naming them last.
  for (const manifest of writeBack.manifests) {
    if (await cache.manifestDue(manifest.digest)) await cache.putManifest(manifest.digest, manifest.body, manifest.mediaType);
  }
  await Promise.all(writeBack.blobs.map((blob) => cache.putBlobSizeIfDue(blob.digest, blob.size)));
  if (writeBack.tag && tagCanonical !== undefined) {
    const previous = await cache.tagPointer(tagCanonical, writeBack.tag.tag);
    if (!previous || previous.writtenAt <= verification.timestamp) {
      await cache.putTagPointer(tagCanonical, writeBack.tag.tag, {
        manifests: writeBack.tag.manifests,
        pinned: writeBack.tag.pinned,
        freshUntil: writeBack.tag.pinned ? null : Date.now() + config.tagTtlSeconds * 1000,
        writtenAt: verification.timestamp,
      });
    }
  }
  return new Response(null, { status: 204 });
}

/** Refuses write-back bodies over MAX_WRITE_BACK_BYTES, whatever Content-Length claims, before anything is read into memory. */
export const writeBackBodyLimit = bodyLimit({
  maxSize: MAX_WRITE_BACK_BYTES,
  onError: () => {
    throw new RegistryError('SIZE_INVALID', `Write-back bodies are limited to ${MAX_WRITE_BACK_BYTES} bytes`);
  },
});

function parseWriteBack(body: Uint8Array): WriteBack {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new RegistryError('MANIFEST_INVALID', 'Write-back body is not JSON');
  }
  const parsed = writeBackSchema.safeParse(json);
  if (!parsed.success) {
    throw new RegistryError('MANIFEST_INVALID', `Write-back body is invalid: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
  }
  return parsed.data;
}

/** Every manifest's bytes must hash to its digest and declare a manifest media type. */
async function checkManifests(writeBack: WriteBack): Promise<void> {
  for (const manifest of writeBack.manifests) {
    if (!MANIFEST_MEDIA_TYPES.includes(manifest.mediaType)) {
      throw new RegistryError('MANIFEST_INVALID', `Expected a manifest media type, got ${manifest.mediaType}`);
    }
    const actual = await sha256Digest(manifest.body);
    if (actual !== manifest.digest) {
      throw new RegistryError('DIGEST_INVALID', `Manifest bytes hash to ${actual}, not ${manifest.digest}`);
    }
  }
}
