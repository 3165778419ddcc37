/**
 * The image cache: (system, package-set revision, canonical package set, recipe) -> what the
 * builder knew when it published the image: the manifest each flavour's tag resolves to, every
 * manifest's exact bytes and media type, and every blob's size. Pulls by tag and write-backs to
 * the edge are answered from the record alone, without reading storage. Persisted in storage; an
 * entry is written only after every blob and manifest it names is durable, and is trusted only
 * while its manifests are still there.
 */

import { z } from 'zod';
import { sha256Hex, type Digest } from '../../shared/digest.ts';
import { contentKey, imageCacheKey } from '../../shared/keys.ts';
import type { ManifestFlavour, TagFlavour } from '../../shared/media-types.ts';
import { descriptorSchema, imageManifestsSchema, manifestDocumentSchema, type ManifestDocument } from '../../shared/protocol.ts';
import type { BuiltImage, LayerDescriptor } from '../image/manifest.ts';
import type { BuiltIndex } from '../image/index.ts';
import type { Storage } from '../storage/storage.ts';
import { safeJson } from './layer-cache.ts';

const recordSchema = z.object({
  /** 2: records carry documents and blobs (version 1 held only the two manifest descriptors: a miss). */
  version: z.literal(2),
  /** The manifest a tag resolves to, per flavour (chosen by the client's Accept); lists for multi-platform images. */
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

/**
 * The record of a multi-platform image: its OCI index and Docker manifest list, the first
 * platform's image manifests (for clients that accept no list), and every platform's manifests
 * and blobs (so each is served and written back by digest). Not cached itself: it is assembled
 * from the platforms' records, which are.
 */
export function indexRecord(index: BuiltIndex, platforms: readonly ImageRecord[]): ImageRecord {
  const [first] = platforms;
  if (!first) throw new Error('Expected at least one platform image');
  const listDocument = (blob: BuiltIndex['ociIndex']): ManifestDocument => ({ digest: blob.digest, mediaType: blob.mediaType, body: blob.bytes.toString('utf8') });
  const documents = new Map<string, ManifestDocument>();
  for (const document of [listDocument(index.ociIndex), listDocument(index.dockerList), ...platforms.flatMap((record) => record.documents)]) {
    documents.set(document.digest, document);
  }
  const blobs = new Map(platforms.flatMap((record) => record.blobs.map((blob) => [blob.digest, blob] as const)));
  return {
    version: 2,
    manifests: {
      oci: first.manifests.oci,
      docker: first.manifests.docker,
      'oci-index': { digest: index.ociIndex.digest, size: index.ociIndex.bytes.length },
      'docker-list': { digest: index.dockerList.digest, size: index.dockerList.bytes.length },
    },
    documents: [...documents.values()],
    blobs: [...blobs.values()],
  };
}

/** The manifest a record's tag resolves to for one flavour (an image manifest, or a list for a multi-platform image). */
export function manifestFor(record: ImageRecord, flavour: TagFlavour): ManifestDocument {
  const descriptor = record.manifests[flavour];
  if (!descriptor) throw new Error(`Image record has no ${flavour}`);
  const { digest } = descriptor;
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

/*
 * For bucket GC (origin/gc/): what a stored record names. Kept beside the schema so a change of
 * the record format changes this too.
 */

/** What an image cache entry names: its manifests and blobs; undefined for bytes that are not a record this code reads. */
export function recordReferences(bytes: Uint8Array): { manifests: Digest[]; blobs: Digest[] } | undefined {
  const parsed = recordSchema.safeParse(safeJson(bytes));
  if (!parsed.success) return undefined;
  return { manifests: parsed.data.documents.map((document) => document.digest), blobs: parsed.data.blobs.map((blob) => blob.digest) };
}
