/** Media types of manifests, configs and layers, OCI and Docker. */

export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  /** zstd layers exist only in OCI: Docker v2 schema 2 has no media type for them. */
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** How layer blobs are compressed: gzip (every client) or zstd (OCI only; containerd 1.5+, podman, skopeo, crane, Docker 23+). */
export const LAYER_COMPRESSIONS = ['gzip', 'zstd'] as const;
export type LayerCompression = (typeof LAYER_COMPRESSIONS)[number];

/** Every media type a manifest may declare: image manifests and lists of them, OCI and Docker. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest, MediaType.ociIndex, MediaType.dockerManifestList];

/** The media type some bytes declare as a manifest, or undefined when they are not a manifest. */
export function manifestMediaType(bytes: Uint8Array | string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes));
  } catch {
    return undefined; // not JSON: a layer blob
  }
  if (typeof parsed !== 'object' || parsed === null || !('mediaType' in parsed) || typeof parsed.mediaType !== 'string') return undefined;
  return MANIFEST_MEDIA_TYPES.includes(parsed.mediaType) ? parsed.mediaType : undefined;
}

/** The two manifest flavours we publish for every image. */
export type ManifestFlavour = 'oci' | 'docker';

/**
 * Chooses the manifest flavour for a request's `Accept` header: OCI when the client accepts it,
 * Docker v2 schema 2 otherwise (some clients send Docker-only Accept headers, others none).
 */
export function negotiateManifest(accept: string | undefined | null): ManifestFlavour {
  if (!accept) return 'docker';
  const accepted = accept.split(',').map((part) => part.split(';')[0]!.trim().toLowerCase());
  return accepted.includes(MediaType.ociManifest) ? 'oci' : 'docker';
}
