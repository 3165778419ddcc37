/**
 * Images that exist only as an OCI manifest: zstd layers, for which Docker v2 schema 2 has no media
 * type. Their image record's Docker flavour names the OCI manifest itself. Two kinds of client get
 * a 404 MANIFEST_UNKNOWN saying why instead of a manifest they cannot use:
 *
 *   - a client whose Accept header chose the Docker flavour (it accepts no OCI manifest, or sent no
 *     Accept): it cannot read the manifest at all;
 *   - a Docker Engine before 23 (its User-Agent `docker/<version>`): it accepts OCI manifests but
 *     cannot unpack zstd layers, and would download every layer and then fail with
 *     "failed to register layer: ... archive/tar: invalid tar header". No Accept header says so.
 *
 * The edge (on a hit) and the origin answer it alike. The answer depends on the request's headers:
 * it carries `Vary: Accept, User-Agent` and is never stored, and the edge does not remember it as a
 * refusal of the name (edge/negative-cache.ts).
 */

import { reasonPhrase, RegistryError } from './errors.ts';
import { isDigest, type Digest } from './digest.ts';
import { MediaType, type TagFlavour } from './media-types.ts';

/** Media types a client that negotiated the Docker flavour can read. */
const DOCKER_MANIFEST_TYPES: readonly string[] = [MediaType.dockerManifest, MediaType.dockerManifestList];

/** The flavours a client gets when its Accept header names no OCI type. */
const DOCKER_FLAVOURS: readonly TagFlavour[] = ['docker', 'docker-list'];

/** The first Docker Engine release that unpacks zstd layers (moby 23.0). */
const DOCKER_READS_ZSTD_FROM = 23;

/** The manifest a tag resolved to, as either tier holds it. */
export interface ResolvedManifest {
  mediaType: string;
  body: string | Uint8Array;
}

/** The request, as far as choosing what it may be given goes. */
export interface ManifestRequest {
  /** The image name as requested. */
  name: string;
  tag: string;
  /** The flavour its Accept header negotiated. */
  flavour: TagFlavour;
  userAgent: string | undefined;
}

/** Reads a manifest the tier holds by digest (an index's first platform manifest). */
export type ManifestReader = (digest: Digest) => Promise<ResolvedManifest | undefined>;

/**
 * The refusal for giving `manifest` to this request, or undefined when it can have it. For an
 * index, whether its images have zstd layers is read from its first platform manifest, and only
 * for the requests that could be refused (Docker-only or an old Docker Engine): no read otherwise.
 */
export async function ociOnlyRefusal(request: ManifestRequest, manifest: ResolvedManifest, read: ManifestReader): Promise<RegistryError | undefined> {
  const dockerOnly = DOCKER_FLAVOURS.includes(request.flavour) && !DOCKER_MANIFEST_TYPES.includes(manifest.mediaType);
  const oldDocker = dockerEngineWithoutZstd(request.userAgent);
  if (!dockerOnly && oldDocker === undefined) return undefined;
  const zstd = await hasZstdLayers(manifest.body, read);
  if (!dockerOnly && !zstd) return undefined;

  const { name, tag } = request;
  const what = zstd
    ? `has zstd-compressed layers (${MediaType.ociLayerZstd})`
    : `is published only as an OCI manifest (${manifest.mediaType})`;
  const why = dockerOnly
    ? `${zstd ? ', which only an OCI image manifest can describe, ' : ' '}and this client accepts only Docker manifests (no ${MediaType.ociManifest} in its Accept header)`
    : `, which Docker Engine ${oldDocker} cannot unpack (Docker reads them from version ${DOCKER_READS_ZSTD_FROM})`;
  const withoutZstd = name.split('/').filter((component) => component !== 'zstd');
  const alternative =
    zstd && withoutZstd.length < name.split('/').length && withoutZstd.length > 0
      ? `, or pull "${withoutZstd.join('/')}:${tag}", which has this registry's default layer compression`
      : '';
  const clients = zstd ? 'zstd layers (containerd 1.5+, podman, skopeo, crane, Docker 23+)' : 'OCI images';
  return new RegistryError('MANIFEST_UNKNOWN', `${name}:${tag} ${what}${why}. Pull it with a client that reads ${clients}${alternative}`, {
    detail: { mediaType: manifest.mediaType, ...(zstd ? { layerMediaType: MediaType.ociLayerZstd } : {}) },
    headers: { Vary: 'Accept, User-Agent', 'Cache-Control': 'no-store' },
    reason: reasonPhrase(`${name}:${tag} ${zstd ? 'has zstd layers' : 'is OCI only'}: ${dockerOnly ? 'this client accepts only Docker manifests' : `Docker ${oldDocker} cannot unpack them`}`),
  });
}

/** The version of a Docker Engine before 23 named by a User-Agent (`docker/20.10.24+dfsg1 go/...`), else undefined. */
export function dockerEngineWithoutZstd(userAgent: string | undefined): string | undefined {
  const match = /^docker\/((\d+)\.[0-9A-Za-z.+~-]*)/.exec(userAgent ?? '');
  if (!match) return undefined;
  return Number(match[2]) < DOCKER_READS_ZSTD_FROM ? match[1] : undefined;
}

/** Whether a manifest names zstd layers, or an index's first manifest does (small JSON documents; anything unreadable says no). */
async function hasZstdLayers(body: string | Uint8Array, read: ManifestReader | undefined): Promise<boolean> {
  const parsed = parseJson(body);
  if (typeof parsed !== 'object' || parsed === null) return false;
  if ('manifests' in parsed && Array.isArray(parsed.manifests)) {
    const first: unknown = parsed.manifests[0];
    const digest = typeof first === 'object' && first !== null && 'digest' in first && typeof first.digest === 'string' && isDigest(first.digest) ? first.digest : undefined;
    const child = digest === undefined || read === undefined ? undefined : await read(digest);
    return child !== undefined && (await hasZstdLayers(child.body, undefined)); // one level: an index of indexes says no
  }
  if (!('layers' in parsed) || !Array.isArray(parsed.layers)) return false;
  return parsed.layers.some((layer: unknown) => typeof layer === 'object' && layer !== null && 'mediaType' in layer && layer.mediaType === MediaType.ociLayerZstd);
}

/** A JSON document's value, or undefined when it is not JSON. */
function parseJson(body: string | Uint8Array): unknown {
  try {
    return JSON.parse(typeof body === 'string' ? body : new TextDecoder().decode(body)) as unknown;
  } catch {
    return undefined;
  }
}
