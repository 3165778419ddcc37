/**
 * The edge cache in Workers KV: manifests by digest (immutable), tag pointers, blob sizes and
 * used write-back nonces. Every key comes from shared/keys.ts. KV is eventually consistent, so a
 * miss here is never an answer: callers fall back to the origin.
 */

import type { Digest } from '../shared/digest.ts';
import { kvBlobKey, kvManifestKey, kvNonceKey, kvRefreshKey, kvTagKey } from '../shared/keys.ts';
import { tagPointerSchema, type TagPointer } from '../shared/protocol.ts';
import { LRUCache } from 'lru-cache';

export interface CachedManifest {
  bytes: ArrayBuffer;
  mediaType: string;
}

interface ManifestMetadata {
  mediaType: string;
}

/** How long a refresh marker keeps other isolates from refreshing the same tag (KV's minimum TTL). */
const REFRESH_MARKER_TTL_SECONDS = 60;

/** Tag refreshes this isolate has under way, by tag key (concurrent stale hits share one). */
const refreshing = new Map<string, Promise<void>>();

/** How long a used nonce is remembered: past this its timestamp is too old to verify anyway. */
const NONCE_TTL_SECONDS = 900;

/** How long this isolate reuses a tag pointer it read (KV itself may be up to 60 s behind). */
const TAG_POINTER_MEMORY_MS = 5_000;

/**
 * What this isolate remembers of KV (shared by every request it serves), least recently used
 * first out: manifests and blob sizes by digest never change; tag pointers are kept only briefly.
 */
const memory = {
  manifests: new LRUCache<string, CachedManifest>({ max: 2_000, maxSize: 32 * 1024 * 1024, sizeCalculation: (manifest) => manifest.bytes.byteLength || 1 }),
  tags: new LRUCache<string, TagPointer>({ max: 10_000 }),
  blobSizes: new LRUCache<string, number>({ max: 50_000 }),
};

export class EdgeCache {
  readonly #kv: KVNamespace;

  constructor(kv: KVNamespace) {
    this.#kv = kv;
  }

  /** A manifest by digest: from this isolate's memory, else in one KV read. */
  async manifest(digest: Digest): Promise<CachedManifest | undefined> {
    const remembered = memory.manifests.get(digest);
    if (remembered) return remembered;
    const { value, metadata } = await this.#kv.getWithMetadata<ManifestMetadata>(kvManifestKey(digest), 'arrayBuffer');
    if (value === null || !metadata?.mediaType) return undefined;
    const manifest = { bytes: value, mediaType: metadata.mediaType };
    memory.manifests.set(digest, manifest);
    return manifest;
  }

  /** Whether a manifest is already cached (write-backs skip rewriting immutable entries). */
  async hasManifest(digest: Digest): Promise<boolean> {
    return (await this.#kv.get(kvManifestKey(digest), 'arrayBuffer')) !== null;
  }

  async putManifest(digest: Digest, body: string, mediaType: string): Promise<void> {
    await this.#kv.put(kvManifestKey(digest), body, { metadata: { mediaType } satisfies ManifestMetadata });
  }

  /** The tag pointer of an image name (canonical) and tag: remembered for a few seconds, else one KV read. */
  async tagPointer(canonicalName: string, tag: string): Promise<TagPointer | undefined> {
    const key = await kvTagKey(canonicalName, tag);
    const remembered = memory.tags.get(key);
    if (remembered) return remembered;
    const parsed = tagPointerSchema.safeParse(await this.#kv.get(key, 'json'));
    if (!parsed.success) return undefined;
    // A pinned pointer never changes; a moving one is reused briefly, and never past its freshness.
    const ttl = parsed.data.freshUntil === null ? Infinity : Math.min(TAG_POINTER_MEMORY_MS, parsed.data.freshUntil - Date.now());
    if (ttl > 0) memory.tags.set(key, parsed.data, ttl === Infinity ? {} : { ttl });
    return parsed.data;
  }

  async putTagPointer(canonicalName: string, tag: string, pointer: TagPointer): Promise<void> {
    const key = await kvTagKey(canonicalName, tag);
    await this.#kv.put(key, JSON.stringify(pointer));
    memory.tags.delete(key);
  }

  /** A blob's size, when a write-back reported it (sizes never change: remembered). */
  async blobSize(digest: Digest): Promise<number | undefined> {
    const remembered = memory.blobSizes.get(digest);
    if (remembered !== undefined) return remembered;
    const value = await this.#kv.get(kvBlobKey(digest));
    if (value === null || !/^\d+$/.test(value)) return undefined;
    memory.blobSizes.set(digest, Number(value));
    return Number(value);
  }

  /**
   * Records a blob's size unless it is known already: images share layers, so write-backs name
   * the same blobs again and again, and KV allows about one write per second per key.
   */
  async putBlobSizeIfAbsent(digest: Digest, size: number): Promise<void> {
    if ((await this.blobSize(digest)) !== undefined) return;
    await this.#kv.put(kvBlobKey(digest), String(size));
  }

  /**
   * Runs `refresh` for a stale tag unless a refresh of it is under way: in this isolate (a shared
   * promise) or, as far as KV has seen, in another (a marker that expires by itself). Returns once
   * the refresh this call started (or joined) is done.
   */
  async refreshOnce(canonicalName: string, tag: string, refresh: () => Promise<void>): Promise<void> {
    const key = await kvRefreshKey(canonicalName, tag);
    const running = refreshing.get(key);
    if (running) return running;
    const run = (async () => {
      if ((await this.#kv.get(key)) !== null) return; // another isolate is on it
      await this.#kv.put(key, '1', { expirationTtl: REFRESH_MARKER_TTL_SECONDS });
      await refresh();
    })().finally(() => refreshing.delete(key));
    refreshing.set(key, run);
    return run;
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
