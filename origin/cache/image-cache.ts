/**
 * The image cache: (system, package-set revision, canonical package set, recipe) -> what the
 * builder knew when it published the image: the manifest each flavour's tag resolves to, every
 * manifest's exact bytes and media type, and every blob's size. Pulls by tag and write-backs to
 * the edge are answered from the record alone, without reading storage. Persisted in storage; an
 * entry is written only after every blob and manifest it names is durable, and is trusted only
 * while its manifests are still there.
 */

import { z } from 'zod';
import { sha256Hex } from '../../shared/digest.ts';
import { contentKey, imageCacheKey } from '../../shared/keys.ts';
import type { ManifestFlavour } from '../../shared/media-types.ts';
import { descriptorSchema, imageManifestsSchema, manifestDocumentSchema, type ManifestDocument } from '../../shared/protocol.ts';
import type { BuiltImage, LayerDescriptor } from '../image/manifest.ts';
import type { Storage } from '../storage/storage.ts';
import { safeJson } from './layer-cache.ts';

const recordSchema = z.object({
  /** 2: records carry documents and blobs (version 1 held only the two manifest descriptors: a miss). */
  version: z.literal(2),
  /** The manifest a tag resolves to, per flavour (chosen by the client's Accept). */
  manifests: imageManifestsSchema,
  /** Every manifest of the image, with its exact bytes. */
  documents: z.array(manifestDocumentSchema).min(1),
  /** Every blob (config, layers) the manifests name, with its size. */
  blobs: z.array(descriptorSchema),
});

/** A published image, as the image cache records it. */
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
export function imageKey(parts: ImageKeyParts): Promise<string> {
  return sha256Hex(`nixedge-image-v1\0${parts.system}\0${parts.revision}\0${parts.canonical}\0${parts.recipe}\0`);
}

/** The record of an image just built from these layers (bottom to top, as the manifests list them). */
export function imageRecord(image: BuiltImage, layers: readonly LayerDescriptor[]): ImageRecord {
  const document = (flavour: ManifestFlavour): ManifestDocument => ({
    digest: image.manifests[flavour].digest,
    mediaType: image.manifests[flavour].mediaType,
    body: image.manifests[flavour].bytes.toString('utf8'),
  });
  const blobs = new Map([[image.config.digest, image.config.bytes.length]]);
  for (const layer of layers) blobs.set(layer.digest, layer.size);
  return {
    version: 2,
    manifests: {
      oci: { digest: image.manifests.oci.digest, size: image.manifests.oci.bytes.length },
      docker: { digest: image.manifests.docker.digest, size: image.manifests.docker.bytes.length },
    },
    // A zstd image's two flavours are one manifest: listed once.
    documents: [document('oci'), document('docker')].filter((d, index, all) => all.findIndex((other) => other.digest === d.digest) === index),
    blobs: [...blobs].map(([digest, size]) => ({ digest, size })),
  };
}

/** The manifest a record's tag resolves to for one flavour. */
export function manifestFor(record: ImageRecord, flavour: ManifestFlavour): ManifestDocument {
  const { digest } = record.manifests[flavour];
  const document = record.documents.find((candidate) => candidate.digest === digest);
  if (!document) throw new Error(`Image record names manifest ${digest} without its bytes`);
  return document;
}

export class ImageCache {
  readonly #storage: Storage;

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  /** The cached image for this key, if its manifests are still in storage. */
  async get(key: string): Promise<ImageRecord | undefined> {
    const bytes = await this.#storage.readBytes(imageCacheKey(key));
    if (!bytes) return undefined;
    const parsed = recordSchema.safeParse(safeJson(bytes));
    if (!parsed.success) return undefined;
    const present = await Promise.all(
      parsed.data.documents.map(async (m) => (await this.#storage.stat(contentKey(m.digest)))?.size === Buffer.byteLength(m.body)),
    );
    return present.every(Boolean) ? parsed.data : undefined;
  }

  /** Records an image whose manifests (and everything they name) are durable. */
  async put(key: string, record: ImageRecord): Promise<void> {
    await this.#storage.writeBytes(imageCacheKey(key), Buffer.from(JSON.stringify(record)));
  }
}
