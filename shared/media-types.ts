/** Media types of manifests, configs and layers, OCI and Docker. */

export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export type ManifestMediaType = typeof MediaType.ociManifest | typeof MediaType.dockerManifest;

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
