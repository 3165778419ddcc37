/** Manifests and helpers shared by the edge tests (and the stand-in origin that serves them). */

import { sha256Digest } from '../../shared/digest.ts';

export const TEST_SECRET = 'test-secret-0123456789-0123456789-abcdef';

const encoder = new TextEncoder();

async function sha256(text: string): Promise<`sha256:${string}`> {
  return sha256Digest(encoder.encode(text));
}

/** An OCI index and a Docker manifest list naming two test images (as amd64 and arm64). */
export async function testIndex(amd64: TestImage, arm64: TestImage): Promise<{ oci: { body: string; digest: `sha256:${string}` }; docker: { body: string; digest: `sha256:${string}` } }> {
  const list = (oci: boolean) =>
    JSON.stringify({
      schemaVersion: 2,
      mediaType: oci ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.docker.distribution.manifest.list.v2+json',
      manifests: [
        { image: amd64, platform: { architecture: 'amd64', os: 'linux' } },
        { image: arm64, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
      ].map(({ image, platform }) => ({
        mediaType: oci ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json',
        digest: oci ? image.oci.digest : image.docker.digest,
        size: (oci ? image.oci.body : image.docker.body).length,
        platform,
      })),
    });
  return { oci: { body: list(true), digest: await sha256(list(true)) }, docker: { body: list(false), digest: await sha256(list(false)) } };
}

export interface TestImage {
  layer: { digest: `sha256:${string}`; size: number };
  config: { digest: `sha256:${string}`; size: number };
  oci: { body: string; digest: `sha256:${string}` };
  docker: { body: string; digest: `sha256:${string}` };
}

/**
 * A small image of zstd layers, as the origin publishes it: one OCI manifest, which is also its
 * Docker flavour (shared/oci-only.ts refuses it to Docker-only clients).
 */
export async function zstdTestImage(seed: string): Promise<TestImage> {
  const image = await testImage(seed);
  const body = image.oci.body.replace('application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.oci.image.layer.v1.tar+zstd');
  const oci = { body, digest: await sha256(body) };
  return { ...image, oci, docker: oci };
}

/** A small image (one layer) whose two manifests differ only in media types, like the origin's. */
export async function testImage(seed: string): Promise<TestImage> {
  const layer = { digest: await sha256(`layer ${seed}`), size: 1234 };
  const config = { digest: await sha256(`config ${seed}`), size: 321 };
  const manifest = (oci: boolean) =>
    JSON.stringify({
      schemaVersion: 2,
      mediaType: oci ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json', ...config },
      layers: [{ mediaType: oci ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip', ...layer }],
    });
  const ociBody = manifest(true);
  const dockerBody = manifest(false);
  return {
    layer,
    config,
    oci: { body: ociBody, digest: await sha256(ociBody) },
    docker: { body: dockerBody, digest: await sha256(dockerBody) },
  };
}
