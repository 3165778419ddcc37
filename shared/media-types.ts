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

/** The two flavours of an image manifest we publish for every image. */
export type ManifestFlavour = 'oci' | 'docker';

/** The two flavours of a list of per-platform manifests, for multi-platform images. */
export type ListFlavour = 'oci-index' | 'docker-list';

/** What a manifest request by tag can be answered with. */
export type TagFlavour = ManifestFlavour | ListFlavour;

/** The media type of each flavour. */
export const FLAVOUR_MEDIA_TYPE: Record<TagFlavour, string> = {
  oci: MediaType.ociManifest,
  docker: MediaType.dockerManifest,
  'oci-index': MediaType.ociIndex,
  'docker-list': MediaType.dockerManifestList,
};

/** The media types an `Accept` header names (parameters and case dropped). */
function acceptedTypes(accept: string | undefined | null): string[] {
  return (accept ?? '').split(',').map((part) => part.split(';')[0]!.trim().toLowerCase());
}

/**
 * Chooses what a manifest request by tag is answered with, from the request's `Accept` header
 * and what the image has. A multi-platform image (`lists`) is an OCI index for clients accepting
 * one, a Docker manifest list for clients accepting only that, and otherwise the first platform's
 * image manifest, so old clients keep working. An image manifest is OCI when the client accepts it,
 * Docker v2 schema 2 otherwise (some clients send Docker-only Accept headers, others none).
 */
export function negotiateManifest(accept: string | undefined | null, offered: { lists: boolean } = { lists: false }): TagFlavour {
  const accepted = acceptedTypes(accept);
  if (offered.lists && accepted.includes(MediaType.ociIndex)) return 'oci-index';
  if (offered.lists && accepted.includes(MediaType.dockerManifestList)) return 'docker-list';
  return accepted.includes(MediaType.ociManifest) ? 'oci' : 'docker';
}
