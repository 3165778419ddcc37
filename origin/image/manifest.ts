/**
 * Image config and manifests: a pure function from layers to bytes. Every image is published in
 * two flavours (OCI and Docker v2 schema 2) that share one config blob and the same layer blobs;
 * which one a client gets is chosen by its Accept header. Deterministic: a fixed `created` and a
 * fixed key order, so the same layers always give the same digests.
 *
 * An image of zstd layers has only the OCI flavour (Docker v2 schema 2 has no zstd media type):
 * its Docker flavour is the OCI manifest itself, which the registry refuses to clients that
 * accept only Docker types (shared/oci-only.ts). Its config is the gzip image's (same diffIDs).
 */

import { sha256Digest, type Digest } from '../../shared/digest.ts';
import { MediaType, type LayerCompression, type ManifestFlavour } from '../../shared/media-types.ts';
import type { NixSystem } from '../../shared/reference.ts';
import { platformOfSystem } from '../../shared/platforms.ts';

/** A layer as the manifest names it. */
export interface LayerDescriptor {
  digest: Digest;
  diffId: Digest;
  size: number;
}

export interface ImageSpec {
  system: NixSystem;
  /** Bottom to top; the customisation layer last. */
  layers: readonly LayerDescriptor[];
  env: readonly string[];
  cmd: readonly string[] | undefined;
  /** How the layer blobs are compressed; gzip unless given. */
  compression?: LayerCompression;
}

/** Bytes with their digest. */
export interface Blob {
  bytes: Buffer;
  digest: Digest;
}

/** A manifest's bytes, digest and the media type it declares. */
export interface ManifestBlob extends Blob {
  mediaType: string;
}

export interface BuiltImage {
  config: Blob;
  manifests: Record<ManifestFlavour, ManifestBlob>;
}

/** The fixed creation time of every image (Nix images have no meaningful build time). */
export const IMAGE_CREATED = '1970-01-01T00:00:01Z';


/** A JSON value as the bytes of a blob, with their digest. */
async function blob(value: unknown): Promise<Blob> {
  const bytes = Buffer.from(JSON.stringify(value), 'utf8');
  return { bytes, digest: await sha256Digest(bytes) };
}

/** Builds the config blob and both manifests of an image. */
export async function buildImage(spec: ImageSpec): Promise<BuiltImage> {
  const containerConfig: Record<string, unknown> = { Env: [...spec.env] };
  if (spec.cmd) containerConfig['Cmd'] = [...spec.cmd];
  const platform = platformOfSystem(spec.system);
  const config = await blob({
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    os: platform.os,
    created: IMAGE_CREATED,
    config: containerConfig,
    rootfs: { type: 'layers', diff_ids: spec.layers.map((layer) => layer.diffId) },
    history: spec.layers.map(() => ({ created: IMAGE_CREATED, created_by: 'nixedge' })),
  });
  const manifest = async (flavour: ManifestFlavour): Promise<ManifestBlob> => {
    const mediaType = flavour === 'oci' ? MediaType.ociManifest : MediaType.dockerManifest;
    const bytes = await blob({
      schemaVersion: 2,
      mediaType,
      config: {
        mediaType: flavour === 'oci' ? MediaType.ociConfig : MediaType.dockerConfig,
        digest: config.digest,
        size: config.bytes.length,
      },
      layers: spec.layers.map((layer) => ({
        mediaType: spec.compression === 'zstd' ? MediaType.ociLayerZstd : flavour === 'oci' ? MediaType.ociLayerGzip : MediaType.dockerLayerGzip,
        digest: layer.digest,
        size: layer.size,
      })),
    });
    return { ...bytes, mediaType };
  };
  const oci = await manifest('oci');
  return { config, manifests: { oci, docker: spec.compression === 'zstd' ? oci : await manifest('docker') } };
}
