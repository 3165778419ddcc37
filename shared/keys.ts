/**
 * Every storage key, in one place. The layout of a bucket (or STORAGE_PATH):
 *
 *   layers/<sha256 hex>          blobs (layers, configs) and manifests, by content digest.
 *                                The same layout as Nixery's bucket, so its layers are served as-is.
 *   cache/layers/<sha256 hex>    layer cache entry: sha256 of (compression, sorted store paths)
 *                                -> { digest, diffId, size } as JSON
 *   cache/images/<sha256 hex>    image cache entry: sha256 of (system, revision, package set)
 *                                -> the image's manifests (digests, sizes) as JSON
 *   cache/used/<sha256 hex>      the manifest with this digest was served lately: rewritten (at
 *                                most hourly per origin) when a pull resolves to it; its last write
 *                                is the "used" time bucket GC keeps images by (origin/gc/)
 *   staging/<random>             uploads in flight; moved to their content address when verified
 */

import { digestFromHex, digestHex, SHA256_HEX, sha256Hex, type Digest } from './digest.ts';

/** The directory of keys (for Storage.list) each kind of object lives in. */
export const STORAGE_PREFIXES = {
  content: 'layers/',
  layerCache: 'cache/layers/',
  imageCache: 'cache/images/',
  used: 'cache/used/',
  staging: 'staging/',
} as const;

/** Where a blob or a manifest with this digest is stored. */
export function contentKey(digest: Digest): string {
  return `layers/${digestHex(digest)}`;
}

/** Where the layer cache entry with this key hash is stored. */
export function layerCacheKey(keyHash: string): string {
  return `cache/layers/${keyHash}`;
}

/** Where the image cache entry with this key hash is stored. */
export function imageCacheKey(keyHash: string): string {
  return `cache/images/${keyHash}`;
}

/** Where the marker saying the manifest with this digest was used lately is stored. */
export function usedMarkerKey(digest: Digest): string {
  return `cache/used/${digestHex(digest)}`;
}

/** The digest a content or used-marker key names (`layers/<hex>`, `cache/used/<hex>`), or undefined for any other key. */
export function digestOfKey(key: string): Digest | undefined {
  for (const prefix of [STORAGE_PREFIXES.content, STORAGE_PREFIXES.used]) {
    if (!key.startsWith(prefix)) continue;
    const hex = key.slice(prefix.length);
    return SHA256_HEX.test(hex) ? digestFromHex(hex) : undefined;
  }
  return undefined;
}

/** A fresh staging key for an upload in flight. */
export function stagingKey(id: string): string {
  return `staging/${id}`;
}

/*
 * Workers KV keys (the edge cache), all <= 512 bytes:
 *
 *   m/<digest>        manifest bytes, metadata { mediaType }; immutable, no expiry
 *   t/<sha256 hex>    tag pointer (shared/protocol.ts TagPointer) for sha256(canonical name, tag)
 *   b/<digest>        blob size (decimal), for blob HEAD and redirects without the origin
 *   n/<nonce>         a write-back nonce already used (replay guard), expires
 *   r/<sha256 hex>    a refresh of that tag pointer is under way (one at a time), expires
 */

/** KV key of a manifest by digest. */
export function kvManifestKey(digest: Digest): string {
  return `m/${digest}`;
}

/** KV key of the tag pointer for an image name (canonical form) and tag. */
export async function kvTagKey(canonicalName: string, tag: string): Promise<string> {
  return `t/${await sha256Hex(`${canonicalName}\0${tag}`)}`;
}

/** KV key marking a refresh of the tag pointer of an image name and tag as under way. */
export async function kvRefreshKey(canonicalName: string, tag: string): Promise<string> {
  return `r/${(await kvTagKey(canonicalName, tag)).slice('t/'.length)}`;
}

/** KV key of a blob's size. */
export function kvBlobKey(digest: Digest): string {
  return `b/${digest}`;
}

/** KV key marking a write-back nonce as used. */
export function kvNonceKey(nonce: string): string {
  return `n/${nonce}`;
}
