/**
 * Images that exist only as an OCI manifest: zstd layers, for which Docker v2 schema 2 has no media
 * type. Their image record's Docker flavour names the OCI manifest itself; a client whose Accept
 * header chose the Docker flavour (it accepts no OCI manifest, or sent no Accept) gets this 404
 * MANIFEST_UNKNOWN saying why, not a manifest it cannot use. The edge (on a hit) and the origin
 * answer it alike. The answer depends on Accept: it carries `Vary: Accept` and is never stored, and
 * the edge does not remember it as a refusal of the name (edge/negative-cache.ts).
 */

import { reasonPhrase, RegistryError } from './errors.ts';
import { MediaType, type ManifestFlavour } from './media-types.ts';

/** Media types a client that negotiated the Docker flavour can read. */
const DOCKER_MANIFEST_TYPES: readonly string[] = [MediaType.dockerManifest, MediaType.dockerManifestList];

/** The manifest a tag resolved to, as either tier holds it. */
export interface ResolvedManifest {
  mediaType: string;
  body: string | Uint8Array;
}

/**
 * The refusal for giving `manifest` to a client that negotiated `flavour`, or undefined when it can
 * have it. `name` is the image name as requested, `tag` the tag.
 */
export function ociOnlyRefusal(name: string, tag: string, flavour: ManifestFlavour, manifest: ResolvedManifest): RegistryError | undefined {
  if (flavour !== 'docker' || DOCKER_MANIFEST_TYPES.includes(manifest.mediaType)) return undefined;
  const zstd = hasZstdLayers(manifest.body);
  const what = zstd
    ? `has zstd-compressed layers (${MediaType.ociLayerZstd}), which only an OCI image manifest can describe`
    : `is published only as an OCI manifest (${manifest.mediaType})`;
  const withoutZstd = name.split('/').filter((component) => component !== 'zstd');
  const alternative =
    zstd && withoutZstd.length < name.split('/').length && withoutZstd.length > 0
      ? `, or pull "${withoutZstd.join('/')}:${tag}", which has this registry's default layer compression`
      : '';
  const message =
    `${name}:${tag} ${what}, and this client accepts only Docker manifests (no ${MediaType.ociManifest} in its Accept header). ` +
    `Pull it with a client that reads ${zstd ? 'zstd layers (containerd 1.5+, podman, skopeo, crane, Docker 23+)' : 'OCI images'}${alternative}`;
  return new RegistryError('MANIFEST_UNKNOWN', message, {
    detail: { mediaType: manifest.mediaType, ...(zstd ? { layerMediaType: MediaType.ociLayerZstd } : {}) },
    headers: { Vary: 'Accept', 'Cache-Control': 'no-store' },
    reason: reasonPhrase(`${name}:${tag} ${zstd ? 'has zstd layers' : 'is OCI only'}: pull it with a client that accepts OCI manifests`),
  });
}

/** Whether a manifest names zstd layers (a small JSON document; anything unreadable says no). */
function hasZstdLayers(body: string | Uint8Array): boolean {
  try {
    const parsed: unknown = JSON.parse(typeof body === 'string' ? body : new TextDecoder().decode(body));
    if (typeof parsed !== 'object' || parsed === null || !('layers' in parsed) || !Array.isArray(parsed.layers)) return false;
    return parsed.layers.some((layer: unknown) => typeof layer === 'object' && layer !== null && 'mediaType' in layer && layer.mediaType === MediaType.ociLayerZstd);
  } catch {
    return false;
  }
}
