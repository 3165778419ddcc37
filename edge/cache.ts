/**
 * The edge cache in Workers KV: manifests by digest (immutable), tag pointers, blob sizes and
 * used write-back nonces. Every key comes from shared/keys.ts. KV is eventually consistent, so a
 * miss here is never an answer: callers fall back to the origin.
 *
 * Retention: what names the bucket's content (manifests, blob sizes, tag pointers) expires, so the
 * edge never answers for an image the bucket's GC (origin/gc/) may have collected. Manifests and
 * blob sizes live the retention (KV_RETENTION_SECONDS, 7 days) and are written again by a
 * write-back once half of it has passed; tag pointers live half of it. So every entry naming an
 * image expires at most one retention after the origin last served it (and recorded the use),
 * and at least half a retention after, by which time a pull has reached the origin again.
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
  /** When the entry was written (ms since the epoch); entries from before retention have none. */
  writtenAt?: number;
}

interface BlobSizeMetadata {
  writtenAt?: number;
}

/** The default retention (KV_RETENTION_SECONDS). */
export const DEFAULT_RETENTION_SECONDS = 7 * 24 * 60 * 60;

/** How long this isolate reuses what it read of KV (entries expire: never much past that). */
const MEMORY_TTL_MS = 60 * 60 * 1000;

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
  manifests: new LRUCache<string, CachedManifest>({ max: 2_000, maxSize: 32 * 1024 * 1024, sizeCalculation: (manifest) => manifest.bytes.byteLength || 1, ttl: MEMORY_TTL_MS }),
  tags: new LRUCache<string, TagPointer>({ max: 10_000 }),
  blobSizes: new LRUCache<string, number>({ max: 50_000, ttl: MEMORY_TTL_MS }),
};

export class EdgeCache {
  readonly #kv: KVNamespace;
  readonly #retentionSeconds: number;

  /** `retentionSeconds`: how long entries naming the bucket's content live (KV_RETENTION_SECONDS). */
  constructor(kv: KVNamespace, options: { retentionSeconds?: number } = {}) {
    this.#kv = kv;
    this.#retentionSeconds = options.retentionSeconds ?? DEFAULT_RETENTION_SECONDS;
  }

  /** Whether an entry written at `writtenAt` is due to be written again (half its retention passed). */
  #due(writtenAt: number | undefined): boolean {
    return writtenAt === undefined || Date.now() - writtenAt > (this.#retentionSeconds * 1000) / 2;
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

  /** Whether a write-back should write this manifest: it is not cached, or half its retention has passed. */
  async manifestDue(digest: Digest): Promise<boolean> {
    const { value, metadata } = await this.#kv.getWithMetadata<ManifestMetadata>(kvManifestKey(digest), 'arrayBuffer');
    return value === null || this.#due(metadata?.writtenAt);
  }

  /** Writes a manifest, to expire after the retention. */
  async putManifest(digest: Digest, body: string, mediaType: string): Promise<void> {
    await this.#kv.put(kvManifestKey(digest), body, {
      metadata: { mediaType, writtenAt: Date.now() } satisfies ManifestMetadata,
      expirationTtl: this.#retentionSeconds,
    });
  }

  /** The tag pointer of an image name (canonical) and tag: remembered for a few seconds, else one KV read. */
  async tagPointer(canonicalName: string, tag: string): Promise<TagPointer | undefined> {
    const key = await kvTagKey(canonicalName, tag);
    const remembered = memory.tags.get(key);
    if (remembered) return remembered;
    const parsed = tagPointerSchema.safeParse(await this.#kv.get(key, 'json'));
    if (!parsed.success) return undefined;
    // A pinned pointer never changes (but expires in KV); a moving one is reused briefly, and never past its freshness.
    const ttl = parsed.data.freshUntil === null ? MEMORY_TTL_MS : Math.min(TAG_POINTER_MEMORY_MS, parsed.data.freshUntil - Date.now());
    if (ttl > 0) memory.tags.set(key, parsed.data, { ttl });
    return parsed.data;
  }

  /** Writes a tag pointer, to expire after half the retention (before what it names). */
  async putTagPointer(canonicalName: string, tag: string, pointer: TagPointer): Promise<void> {
    const key = await kvTagKey(canonicalName, tag);
    await this.#kv.put(key, JSON.stringify(pointer), { expirationTtl: Math.max(60, Math.floor(this.#retentionSeconds / 2)) });
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
   * Records a blob's size unless it was written within half the retention: images share layers,
   * so write-backs name the same blobs again and again, and KV allows about one write per second
   * per key.
   */
  async putBlobSizeIfDue(digest: Digest, size: number): Promise<void> {
    const { value, metadata } = await this.#kv.getWithMetadata<BlobSizeMetadata>(kvBlobKey(digest));
    if (value !== null && !this.#due(metadata?.writtenAt)) return;
    await this.#kv.put(kvBlobKey(digest), String(size), { metadata: { writtenAt: Date.now() } satisfies BlobSizeMetadata, expirationTtl: this.#retentionSeconds });
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
