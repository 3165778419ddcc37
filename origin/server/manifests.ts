/** GET|HEAD /v2/<name>/manifests/<tag|digest>: negotiated manifests, built on demand by tag. */

import type { Context } from 'hono';
import { RegistryError } from '../../shared/errors.ts';
import { contentKey } from '../../shared/keys.ts';
import { negotiateManifest } from '../../shared/media-types.ts';
import { parseImageName, parseReference } from '../../shared/reference.ts';
import type { Digest } from '../../shared/digest.ts';
import { IMMUTABLE } from '../../shared/error-response.ts';
import { manifestMediaType } from '../image/manifest.ts';
import type { ImageBuilder, ResolvedImage } from '../builder/image-builder.ts';
import type { Storage } from '../storage/storage.ts';

/** Manifests are small; anything bigger under a digest is a layer, not a manifest. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;


/**
 * Called after a tag resolved to an image (the repository name as requested, the tag, the image),
 * e.g. to write it back to the edge. Must return at once and never throw.
 */
export type TagResolvedHook = (name: string, tag: string, image: ResolvedImage) => void;

/** Serves a manifest by tag (building the image when needed) or by digest. */
export async function serveManifest(c: Context, builder: ImageBuilder, storage: Storage, onTagResolved?: TagResolvedHook): Promise<Response> {
  const name = parseImageName(c.req.param('name') ?? '');
  const reference = parseReference(c.req.param('reference') ?? '');
  let digest: Digest;
  let cacheControl: string;
  if (reference.kind === 'digest') {
    digest = reference.digest;
    cacheControl = IMMUTABLE;
  } else {
    const image = await builder.image(name, reference.tag);
    onTagResolved?.(c.req.param('name') ?? '', reference.tag, image);
    digest = image.record[negotiateManifest(c.req.header('accept'))].digest;
    cacheControl = image.pinned ? IMMUTABLE : 'no-cache';
  }
  const bytes = await readManifest(storage, digest);
  const mediaType = manifestMediaType(bytes);
  if (!mediaType) throw new RegistryError('MANIFEST_UNKNOWN', `No manifest with digest ${digest}`);
  return new Response(c.req.method === 'HEAD' ? null : new Uint8Array(bytes), {
    status: 200,
    headers: {
      'Content-Type': mediaType,
      'Content-Length': String(bytes.length),
      'Docker-Content-Digest': digest,
      ETag: `"${digest}"`,
      'Cache-Control': cacheControl,
    },
  });
}

/** The bytes of a stored manifest, or MANIFEST_UNKNOWN. */
async function readManifest(storage: Storage, digest: Digest): Promise<Buffer> {
  const stat = await storage.stat(contentKey(digest));
  if (!stat || stat.size > MAX_MANIFEST_BYTES) throw new RegistryError('MANIFEST_UNKNOWN', `No manifest with digest ${digest}`);
  const bytes = await storage.readBytes(contentKey(digest));
  if (!bytes) throw new RegistryError('MANIFEST_UNKNOWN', `No manifest with digest ${digest}`);
  return bytes;
}
