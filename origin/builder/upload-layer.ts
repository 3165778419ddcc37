/**
 * Streams one layer into storage: tar -> gzip|zstd -> sha256 -> a staging object, then moved to its
 * content address. The blob appears under its digest only complete and verified; a failure
 * leaves nothing but (at worst) a staging object, which is deleted.
 */

import { randomUUID } from 'node:crypto';
import { contentKey, stagingKey } from '../../shared/keys.ts';
import type { Storage } from '../storage/storage.ts';
import type { TarEntry } from '../tarball/entry.ts';
import { packTar } from '../tarball/pack.ts';
import { compressLayer } from '../tarball/compress.ts';
import type { LayerCodec } from '../tarball/codec.ts';
import type { LayerDescriptor } from '../image/manifest.ts';

/** Packs, compresses and stores the layer made of `entries`; returns its descriptor. */
export async function uploadLayer(storage: Storage, entries: AsyncIterable<TarEntry>, codec: LayerCodec): Promise<LayerDescriptor> {
  const staging = stagingKey(randomUUID());
  try {
    let written = 0;
    const layer = await compressLayer(
      packTar(entries),
      async (compressed) => {
        written = (await storage.writeStream(staging, compressed)).size;
      },
      { compression: codec.compression, level: codec.level },
    );
    if (written !== layer.size) {
      throw new Error(`Expected storage to hold ${layer.size} bytes of layer ${layer.digest}, got ${written}`);
    }
    const target = contentKey(layer.digest);
    const existing = await storage.stat(target);
    if (existing?.size === layer.size) await storage.delete(staging);
    else await storage.move(staging, target);
    return layer;
  } catch (error) {
    await storage.delete(staging).catch(() => undefined);
    throw error;
  }
}

/** Stores a small blob (config, manifest) under its digest, unless it is there already. */
export async function storeBlob(storage: Storage, digest: LayerDescriptor['digest'], bytes: Uint8Array): Promise<void> {
  const key = contentKey(digest);
  if ((await storage.stat(key))?.size === bytes.length) return;
  await storage.writeBytes(key, bytes);
}
