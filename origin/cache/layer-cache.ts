/**
 * The layer cache: the sorted store paths of a layer (and its compression) -> the layer's digest,
 * diffID and size. Persisted in storage, so restarts and other origin replicas reuse layers.
 */

import { z } from 'zod';
import { layerCacheKey, contentKey } from '../../shared/keys.ts';
import { isDigest, sha256Hex, type Digest } from '../../shared/digest.ts';
import type { Storage } from '../storage/storage.ts';
import type { LayerDescriptor } from '../image/manifest.ts';

const digestSchema = z.string().refine(isDigest, 'a sha256 digest').transform((value) => value as Digest);
const entrySchema = z.object({ digest: digestSchema, diffId: digestSchema, size: z.number().int().nonnegative() });

export class LayerCache {
  readonly #storage: Storage;
  readonly #compression: string;

  /** `compression` names everything that changes the bytes of a layer (e.g. "gzip-6"). */
  constructor(storage: Storage, compression: string) {
    this.#storage = storage;
    this.#compression = compression;
  }

  /** The cache key of a layer: a hash over the compression and the sorted store paths. */
  keyFor(storePaths: readonly string[]): Promise<string> {
    return sha256Hex(`nixedge-layer-v1\0${this.#compression}\0${[...storePaths].sort().map((path) => `${path}\0`).join('')}`);
  }

  /** The cached layer for these store paths, if its blob is still in storage. */
  async get(storePaths: readonly string[]): Promise<LayerDescriptor | undefined> {
    const bytes = await this.#storage.readBytes(layerCacheKey(await this.keyFor(storePaths)));
    if (!bytes) return undefined;
    const parsed = entrySchema.safeParse(safeJson(bytes));
    if (!parsed.success) return undefined;
    const blob = await this.#storage.stat(contentKey(parsed.data.digest));
    return blob?.size === parsed.data.size ? parsed.data : undefined;
  }

  /** Records a layer whose blob is already durable in storage. */
  async put(storePaths: readonly string[], layer: LayerDescriptor): Promise<void> {
    const entry = { digest: layer.digest, diffId: layer.diffId, size: layer.size };
    await this.#storage.writeBytes(layerCacheKey(await this.keyFor(storePaths)), Buffer.from(JSON.stringify(entry)));
  }
}

/** The blob a stored layer cache entry names (for bucket GC, origin/gc/); undefined for bytes that are not an entry. */
export function layerEntryDigest(bytes: Uint8Array): Digest | undefined {
  const parsed = entrySchema.safeParse(safeJson(bytes));
  return parsed.success ? parsed.data.digest : undefined;
}

/** Parses JSON, or undefined for bytes that are not JSON (a damaged entry is a miss). */
export function safeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
}
