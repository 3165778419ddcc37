/**
 * The edge <-> origin protocol, as zod schemas both sides validate against.
 *
 *   edge -> origin   GET|HEAD /v2/... forwarded as is, signed (shared/signing.ts)
 *   origin -> edge   POST WRITE_BACK_PATH, signed, body = WriteBack (JSON, <= MAX_WRITE_BACK_BYTES):
 *                    the manifests of an image (by digest), the tag pointer of the request that
 *                    built it, and the sizes of its blobs, so the edge answers the next pull alone.
 */

import { z } from 'zod';
import { isDigest, type Digest } from './digest.ts';

/** The edge's write-back endpoint (outside /v2, so no registry client ever reaches it by accident). */
export const WRITE_BACK_PATH = '/_nixedge/write-back';

/** Largest write-back body the edge accepts (manifests are a few KiB; KV values may be 25 MiB). */
export const MAX_WRITE_BACK_BYTES = 1024 * 1024;

const digest = z
  .string()
  .refine(isDigest, 'Expected a sha256 digest')
  .transform((value) => value as Digest);

/** A blob or manifest by digest, with its size in bytes. */
export const descriptorSchema = z.object({ digest, size: z.number().int().nonnegative() });

/** A manifest with its exact bytes (UTF-8 JSON) and the media type it declares. */
export const manifestDocumentSchema = z.object({
  digest,
  mediaType: z.string().min(1).max(255),
  body: z.string().max(4 * 1024 * 1024),
});
export type ManifestDocument = z.infer<typeof manifestDocumentSchema>;

/** Both flavours of an image's manifest. */
/**
 * What a tag resolves to, by flavour (shared/media-types.ts negotiateManifest): the image manifest
 * in both flavours (for a multi-platform image, the first platform's), and for a multi-platform
 * image also its OCI index and Docker manifest list.
 */
export const imageManifestsSchema = z.object({
  oci: descriptorSchema,
  docker: descriptorSchema,
  'oci-index': descriptorSchema.optional(),
  'docker-list': descriptorSchema.optional(),
});
export type TagManifests = z.infer<typeof imageManifestsSchema>;

export const writeBackSchema = z.object({
  /** The tag pointer: which manifests `/v2/<name>/manifests/<tag>` resolves to. */
  tag: z
    .object({
      name: z.string().min(1).max(255),
      tag: z.string().min(1).max(128),
      /** The tag names an immutable revision (a commit): cache forever. */
      pinned: z.boolean(),
      manifests: imageManifestsSchema,
    })
    .optional(),
  /** Manifests by digest, with their exact bytes (UTF-8 JSON). */
  manifests: z.array(manifestDocumentSchema).max(16),
  /** Sizes of blobs (layers, configs), so the edge can answer blob HEADs. */
  blobs: z.array(descriptorSchema).max(512),
});
export type WriteBack = z.infer<typeof writeBackSchema>;

/** A tag pointer as the edge stores it in KV. */
export const tagPointerSchema = z.object({
  manifests: imageManifestsSchema,
  pinned: z.boolean(),
  /** Epoch ms until which the pointer is fresh; null = forever (pinned). */
  freshUntil: z.number().nullable(),
  /** The signed timestamp (epoch s) of the write-back that wrote it: older writes never replace it. */
  writtenAt: z.number(),
});
export type TagPointer = z.infer<typeof tagPointerSchema>;
