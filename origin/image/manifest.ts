/**
 * Image config and manifests: a pure function from layers to bytes. Every image is published in
 * two flavours (OCI and Docker v2 schema 2) that share one config blob and the same layer blobs;
 * which one a client gets is chosen by its Accept header. Deterministic: a fixed `created` and a
 * fixed key order, so the same layers always give the same digests.
 */

import { createHash } from 'node:crypto';
import { digestFromHex, type Digest } from '../../shared/digest.ts';
import { MediaType, type ManifestFlavour } from '../../shared/media-types.ts';
import type { NixSystem } from '../../shared/reference.ts';

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
}

/** Bytes with their digest. */
export interface Blob {
  bytes: Buffer;
  digest: Digest;
}

export interface BuiltImage {
  config: Blob;
  manifests: Record<ManifestFlavour, Blob>;
}

/** The fixed creation time of every image (Nix images have no meaningful build time). */
export const IMAGE_CREATED = '1970-01-01T00:00:01Z';

const ARCHITECTURES: Record<NixSystem, string> = { 'x86_64-linux': 'amd64', 'aarch64-linux': 'arm64' };

/** The sha256 digest of some bytes. */
export function sha256Digest(bytes: Uint8Array): Digest {
  return digestFromHex(createHash('sha256').update(bytes).digest('hex'));
}

function blob(value: unknown): Blob {
  const bytes = Buffer.from(JSON.stringify(value), 'utf8');
  return { bytes, digest: sha256Digest(bytes) };
}

/** Builds the config blob and both manifests of an image. */
export function buildImage(spec: ImageSpec): BuiltImage {
  const containerConfig: Record<string, unknown> = { Env: [...spec.env] };
  if (spec.cmd) containerConfig['Cmd'] = [...spec.cmd];
  const config = blob({
    architecture: ARCHITECTURES[spec.system],
    os: 'linux',
    created: IMAGE_CREATED,
    config: containerConfig,
    rootfs: { type: 'layers', diff_ids: spec.layers.map((layer) => layer.diffId) },
    history: spec.layers.map(() => ({ created: IMAGE_CREATED, created_by: 'nixedge' })),
  });
  const manifest = (flavour: ManifestFlavour): Blob =>
    blob({
      schemaVersion: 2,
      mediaType: flavour === 'oci' ? MediaType.ociManifest : MediaType.dockerManifest,
      config: {
        mediaType: flavour === 'oci' ? MediaType.ociConfig : MediaType.dockerConfig,
        digest: config.digest,
        size: config.bytes.length,
      },
      layers: spec.layers.map((layer) => ({
        mediaType: flavour === 'oci' ? MediaType.ociLayerGzip : MediaType.dockerLayerGzip,
        digest: layer.digest,
        size: layer.size,
      })),
    });
  return { config, manifests: { oci: manifest('oci'), docker: manifest('docker') } };
}

/** The media type a stored manifest declares, or undefined when the bytes are not a manifest. */
export function manifestMediaType(bytes: Uint8Array): string | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'mediaType' in parsed && typeof parsed.mediaType === 'string') {
      const mediaType = parsed.mediaType;
      const manifestTypes: string[] = [MediaType.ociManifest, MediaType.dockerManifest, MediaType.ociIndex, MediaType.dockerManifestList];
      return manifestTypes.includes(mediaType) ? mediaType : undefined;
    }
  } catch {
    // not JSON: a layer blob
  }
  return undefined;
}
