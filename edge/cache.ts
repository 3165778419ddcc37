/**
 * The edge cache in Workers KV: manifests by digest (immutable), tag pointers, blob sizes and
 * used write-back nonces. Every key comes from shared/keys.ts. KV is eventually consistent, so a
 * miss here is never an answer: callers fall back to the origin.
 */

import type { Digest } from '../shared/digest.ts';
import { kvBlobKey, kvManifestKey, kvNonceKey, kvTagKey } from '../shared/keys.ts';
import { tagPointerSchema, type TagPointer } from '../shared/protocol.ts';

export interface CachedManifest {
  bytes: ArrayBuffer;
  mediaType: string;
}

interface ManifestMetadata {
  mediaType: string;
}

/** How long a used nonce is remembered: past this its timestamp is too old to verify anyway. */
const NONCE_TTL_SECONDS = 900;

export class EdgeCache {
  readonly #kv: KVNamespace;

  constructor(kv: KVNamespace) {
    this.#kv = kv;
  }

  /** A manifest by digest, in one KV read. */
  async manifest(digest: Digest): Promise<CachedManifest | undefined> {
    const { value, metadata } = await this.#kv.getWithMetadata<ManifestMetadata>(kvManifestKey(digest), 'arrayBuffer');
    if (value === null || !metadata?.mediaType) return undefined;
    return { bytes: value, mediaType: metadata.mediaType };
  }

  /** Whether a manifest is already cached (write-backs skip rewriting immutable entries). */
  async hasManifest(digest: Digest): Promise<boolean> {
    return (await this.#kv.get(kvManifestKey(digest), 'arrayBuffer')) !== null;
  }

  async putManifest(digest: Digest, body: string, mediaType: string): Promise<void> {
    await this.#kv.put(kvManifestKey(digest), body, { metadata: { mediaType } satisfies ManifestMetadata });
  }

  /** The tag pointer of an image name (canonical) and tag, in one KV read. */
  async tagPointer(canonicalName: string, tag: string): Promise<TagPointer | undefined> {
    const value = await this.#kv.get(await kvTagKey(canonicalName, tag), 'json');
    const parsed = tagPointerSchema.safeParse(value);
    return parsed.success ? parsed.data : undefined;
  }

  async putTagPointer(canonicalName: string, tag: string, pointer: TagPointer): Promise<void> {
    await this.#kv.put(await kvTagKey(canonicalName, tag), JSON.stringify(pointer));
  }

  /** A blob's size, when a write-back reported it. */
  async blobSize(digest: Digest): Promise<number | undefined> {
    const value = await this.#kv.get(kvBlobKey(digest));
    if (value === null || !/^\d+$/.test(value)) return undefined;
    return Number(value);
  }

  async putBlobSize(digest: Digest, size: number): Promise<void> {
    await this.#kv.put(kvBlobKey(digest), String(size));
  }

  /**
   * Records a nonce; false when it was seen before (a replay). KV is eventually consistent, so a
   * replay at another location within ~60 s can pass: write-backs are idempotent and a pointer
   * never goes back in time (TagPointer.writtenAt), so a replay cannot change what is served.
   */
  async claimNonce(nonce: string): Promise<boolean> {
    const key = kvNonceKey(nonce);
    if ((await this.#kv.get(key)) !== null) return false;
    await this.#kv.put(key, '1', { expirationTtl: NONCE_TTL_SECONDS });
    return true;
  }
}
