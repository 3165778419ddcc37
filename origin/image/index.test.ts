/** The OCI index and Docker manifest list of a multi-platform image. */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { digestFromHex } from '../../shared/digest.ts';
import { MediaType } from '../../shared/media-types.ts';
import { PLATFORMS } from '../../shared/platforms.ts';
import { buildIndex } from './index.ts';

const d = (n: number) => ({ digest: digestFromHex(n.toString(16).padStart(64, '0')), size: 100 + n });
const ENTRIES = [
  { platform: PLATFORMS['linux/amd64']!, oci: d(1), docker: d(2) },
  { platform: PLATFORMS['linux/arm64']!, oci: d(3), docker: d(4) },
];

test('each list names one manifest of its own flavour per platform, with the platform, in the configured order', async () => {
  const built = await buildIndex(ENTRIES);
  const oci = JSON.parse(built.ociIndex.bytes.toString()) as { mediaType: string; schemaVersion: number; manifests: unknown[] };
  assert.equal(oci.schemaVersion, 2);
  assert.equal(oci.mediaType, MediaType.ociIndex);
  assert.deepEqual(oci.manifests, [
    { mediaType: MediaType.ociManifest, digest: d(1).digest, size: d(1).size, platform: { architecture: 'amd64', os: 'linux' } },
    { mediaType: MediaType.ociManifest, digest: d(3).digest, size: d(3).size, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
  ]);
  const docker = JSON.parse(built.dockerList.bytes.toString()) as { mediaType: string; manifests: { digest: string; mediaType: string }[] };
  assert.equal(docker.mediaType, MediaType.dockerManifestList);
  assert.deepEqual(docker.manifests.map((m) => [m.mediaType, m.digest]), [[MediaType.dockerManifest, d(2).digest], [MediaType.dockerManifest, d(4).digest]]);
  for (const blob of [built.ociIndex, built.dockerList]) {
    assert.equal(blob.digest, `sha256:${createHash('sha256').update(blob.bytes).digest('hex')}`, 'the digest is the bytes\' sha256');
  }
});

test('deterministic: the same manifests give the same bytes', async () => {
  const [a, b] = [await buildIndex(ENTRIES), await buildIndex(ENTRIES.map((entry) => ({ ...entry })))];
  assert.equal(a.ociIndex.digest, b.ociIndex.digest);
  assert.equal(a.dockerList.digest, b.dockerList.digest);
});

test('images that exist only as OCI manifests (zstd) have no Docker manifest list: its flavour is the OCI index', async () => {
  const built = await buildIndex(ENTRIES.map((entry) => ({ ...entry, docker: entry.oci })));
  assert.equal(built.dockerList.digest, built.ociIndex.digest);
  assert.equal(built.dockerList.mediaType, MediaType.ociIndex);
});
