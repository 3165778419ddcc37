/** GET|HEAD /v2/<name>/manifests/<tag|digest>: negotiated manifests, built on demand by tag. */

import type { Context } from 'hono';
import { RegistryError } from '../../shared/errors.ts';
import { contentKey } from '../../shared/keys.ts';
import { manifestMediaType, negotiateManifest } from '../../shared/media-types.ts';
import { parseImageName, parseReference } from '../../shared/reference.ts';
import type { Digest } from '../../shared/digest.ts';
import { CACHE_CONTROL, VARY_ACCEPT } from '../../shared/http.ts';
import { ociOnlyRefusal } from '../../shared/oci-only.ts';
import { manifestFor } from '../cache/image-cache.ts';
import type { ImageResolver, ResolvedImage } from '../builder/resolved-image.ts';
import type { Storage } from '../storage/storage.ts';

/** Manifests are small; anything bigger under a digest is a layer, not a manifest. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * Called after a tag resolved to an image (the repository name as requested, the tag, the image),
 * e.g. to write it back to the edge. Must return at once and never throw.
 */
export type TagResolvedHook = (name: string, tag: string, image: ResolvedImage) => void;

/** Called with the digest of every manifest served (by tag or by digest), e.g. to record that it was used. Must return at once and never throw. */
export type ManifestServedHook = (digest: Digest) => void;

/** A manifest as it is answered: its bytes, digest and media type. */
interface ServedManifest {
  body: Uint8Array;
  digest: Digest;
  mediaType: string;
  cacheControl: string;
  /** Chosen by the client's Accept (a tag), or the same for everyone (a digest). */
  negotiated: boolean;
}

/** Serves a manifest by tag (from what the image's record says, building it when needed) or by digest (from storage). */
export async function serveManifest(
  c: Context,
  images: ImageResolver,
  storage: Storage,
  onTagResolved?: TagResolvedHook,
  onManifestServed?: ManifestServedHook,
): Promise<Response> {
  const name = parseImageName(c.req.param('name') ?? '');
  const reference = parseReference(c.req.param('reference') ?? '');
  let manifest: ServedManifest;
  if (reference.kind === 'digest') {
    manifest = await storedManifest(storage, reference.digest);
  } else {
    const image = await images.image(name, reference.tag);
    onTagResolved?.(c.req.param('name') ?? '', reference.tag, image);
    const flavour = negotiateManifest(c.req.header('accept'), { lists: image.record.manifests['oci-index'] !== undefined });
    const document = manifestFor(image.record, flavour);
    const request = { name: c.req.param('name') ?? '', tag: reference.tag, flavour, userAgent: c.req.header('user-agent') };
    const ociOnly = await ociOnlyRefusal(request, document, (digest) => Promise.resolve(image.record.documents.find((known) => known.digest === digest)));
    if (ociOnly) throw ociOnly;
    manifest = {
      body: new TextEncoder().encode(document.body),
      digest: document.digest,
      mediaType: document.mediaType,
      cacheControl: image.pinned ? CACHE_CONTROL.negotiatedImmutable : CACHE_CONTROL.negotiatedRevalidate,
      negotiated: true,
    };
  }
  onManifestServed?.(manifest.digest);
  return new Response(c.req.method === 'HEAD' ? null : manifest.body, {
    status: 200,
    headers: {
      'Content-Type': manifest.mediaType,
      'Content-Length': String(manifest.body.length),
      'Docker-Content-Digest': manifest.digest,
      ETag: `"${manifest.digest}"`,
      'Cache-Control': manifest.cacheControl,
      ...(manifest.negotiated ? VARY_ACCEPT : {}),
    },
  });
}

/** A stored manifest by digest, or MANIFEST_UNKNOWN (also for a blob that is not a manifest). */
async function storedManifest(storage: Storage, digest: Digest): Promise<ServedManifest> {
  const unknown = new RegistryError('MANIFEST_UNKNOWN', `No manifest with digest ${digest}`);
  const stat = await storage.stat(contentKey(digest));
  if (!stat || stat.size > MAX_MANIFEST_BYTES) throw unknown;
  const bytes = await storage.readBytes(contentKey(digest));
  const mediaType = bytes && manifestMediaType(bytes);
  if (!bytes || !mediaType) throw unknown;
  return { body: new Uint8Array(bytes), digest, mediaType, cacheControl: CACHE_CONTROL.immutable, negotiated: false };
}
