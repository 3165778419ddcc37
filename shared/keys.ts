/**
 * Every storage key, in one place. The layout of a bucket (or STORAGE_PATH):
 *
 *   layers/<sha256 hex>          blobs (layers, configs) and manifests, by content digest.
 *                                The same layout as Nixery's bucket, so its layers are served as-is.
 *   cache/layers/<sha256 hex>    layer cache entry: sha256 of (compression, sorted store paths)
 *                                -> { digest, diffId, size } as JSON
 *   cache/images/<sha256 hex>    image cache entry: sha256 of (system, revision, package set)
 *                                -> the image's manifests (digests, sizes) as JSON
 *   staging/<random>             uploads in flight; moved to their content address when verified
 */

import { digestHex, type Digest } from './digest.ts';

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

/** A fresh staging key for an upload in flight. */
export function stagingKey(id: string): string {
  return `staging/${id}`;
}
