/**
 * The image cache: (system, package-set revision, canonical package set, layering) -> the image's
 * two manifests. Persisted in storage; an entry is written only after every blob and manifest it
 * names is durable, and is trusted only while its manifests are still there.
 */

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { imageCacheKey, contentKey } from '../../shared/keys.ts';
import { isDigest, type Digest } from '../../shared/digest.ts';
import type { Storage } from '../storage/storage.ts';
import { safeJson } from './layer-cache.ts';

const descriptorSchema = z.object({
  digest: z.string().refine(isDigest, 'a sha256 digest').transform((value) => value as Digest),
  size: z.number().int().nonnegative(),
});
const recordSchema = z.object({ oci: descriptorSchema, docker: descriptorSchema });

/** The two manifests of a built image. */
export type ImageRecord = z.infer<typeof recordSchema>;

export interface ImageKeyParts {
  system: string;
  /** An immutable id of the package set: "git:<commit>" or "out:<hash of the out paths>". */
  revision: string;
  /** The canonical image name (shared/reference.ts). */
  canonical: string;
  /** Everything else that changes the bytes: layering algorithm, budget, compression. */
  recipe: string;
}

/** The image cache key: a hash over its parts, each NUL-terminated so no two parts can blur. */
export function imageKey(parts: ImageKeyParts): string {
  return createHash('sha256')
    .update(`nixedge-image-v1\0${parts.system}\0${parts.revision}\0${parts.canonical}\0${parts.recipe}\0`)
    .digest('hex');
}

export class ImageCache {
  readonly #storage: Storage;

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  /** The cached image for this key, if both its manifests are still in storage. */
  async get(key: string): Promise<ImageRecord | undefined> {
    const bytes = await this.#storage.readBytes(imageCacheKey(key));
    if (!bytes) return undefined;
    const parsed = recordSchema.safeParse(safeJson(bytes));
    if (!parsed.success) return undefined;
    const present = await Promise.all(
      [parsed.data.oci, parsed.data.docker].map(async (m) => (await this.#storage.stat(contentKey(m.digest)))?.size === m.size),
    );
    return present.every(Boolean) ? parsed.data : undefined;
  }

  /** Records an image whose manifests (and everything they name) are durable. */
  async put(key: string, record: ImageRecord): Promise<void> {
    await this.#storage.writeBytes(imageCacheKey(key), Buffer.from(JSON.stringify(record)));
  }
}
