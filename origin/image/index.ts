/**
 * Multi-platform images: an OCI image index and a Docker manifest list naming one image manifest
 * per platform, each with its platform (os, architecture, variant). A pure function of the
 * platform manifests, in the configured order, so the same images always give the same lists.
 */

import { sha256Digest, type Digest } from '../../shared/digest.ts';
import { MediaType } from '../../shared/media-types.ts';
import { platformDescriptor, type Platform } from '../../shared/platforms.ts';
import type { ManifestBlob } from './manifest.ts';

/** One platform's image manifests, in both flavours. */
export interface PlatformManifests {
  platform: Platform;
  oci: { digest: Digest; size: number };
  docker: { digest: Digest; size: number };
}

export interface BuiltIndex {
  ociIndex: ManifestBlob;
  dockerList: ManifestBlob;
}

/** The OCI index (of the OCI manifests) and the Docker manifest list (of the Docker manifests; the OCI index again for OCI-only images). */
export async function buildIndex(entries: readonly PlatformManifests[]): Promise<BuiltIndex> {
  const list = async (mediaType: string, entryType: string, pick: (entry: PlatformManifests) => { digest: Digest; size: number }): Promise<ManifestBlob> => {
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType,
        manifests: entries.map((entry) => ({ mediaType: entryType, digest: pick(entry).digest, size: pick(entry).size, platform: platformDescriptor(entry.platform) })),
      }),
      'utf8',
    );
    return { bytes, digest: await sha256Digest(bytes), mediaType };
  };
  const ociIndex = await list(MediaType.ociIndex, MediaType.ociManifest, (entry) => entry.oci);
  // Images that exist only as OCI manifests (zstd layers: their Docker flavour is the OCI manifest)
  // have no Docker manifest list either: its flavour is the OCI index (shared/oci-only.ts).
  const ociOnly = entries.every((entry) => entry.docker.digest === entry.oci.digest);
  return {
    ociIndex,
    dockerList: ociOnly ? ociIndex : await list(MediaType.dockerManifestList, MediaType.dockerManifest, (entry) => entry.docker),
  };
}
