import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MediaType } from './media-types.ts';
import { ociOnlyRefusal } from './oci-only.ts';

const manifest = (layerType: string) =>
  JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: {}, layers: [{ mediaType: layerType, digest: 'sha256:0', size: 1 }] });

describe('ociOnlyRefusal', () => {
  it('refuses a zstd image to a client that negotiated the Docker flavour, saying why and what to do', () => {
    const refusal = ociOnlyRefusal('zstd/shell/hello', 'latest', 'docker', { mediaType: MediaType.ociManifest, body: manifest(MediaType.ociLayerZstd) });
    assert.ok(refusal);
    assert.equal(refusal.code, 'MANIFEST_UNKNOWN');
    assert.equal(refusal.status, 404);
    assert.match(refusal.message, /^zstd\/shell\/hello:latest has zstd-compressed layers \(application\/vnd\.oci\.image\.layer\.v1\.tar\+zstd\)/);
    assert.match(refusal.message, /accepts only Docker manifests/);
    assert.match(refusal.message, /containerd 1\.5\+, podman, skopeo, crane, Docker 23\+/);
    assert.match(refusal.message, /or pull "shell\/hello:latest", which has this registry's default layer compression/);
    assert.deepEqual(refusal.headers, { Vary: 'Accept', 'Cache-Control': 'no-store' });
    assert.match(refusal.reason ?? '', /^zstd\/shell\/hello:latest has zstd layers/);
  });

  it('reads the body as bytes too (the edge holds manifests as bytes)', () => {
    const body = new TextEncoder().encode(manifest(MediaType.ociLayerZstd));
    const refusal = ociOnlyRefusal('hello', 'latest', 'docker', { mediaType: MediaType.ociManifest, body });
    assert.match(refusal?.message ?? '', /has zstd-compressed layers/);
    // Without zstd in the name (a registry whose default is zstd), dropping it is no way out.
    assert.doesNotMatch(refusal?.message ?? '', /or pull/);
  });

  it('serves what the client can read: Docker manifests, and anything to an OCI client', () => {
    const dockerBody = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.dockerManifest, layers: [] });
    assert.equal(ociOnlyRefusal('hello', 'latest', 'docker', { mediaType: MediaType.dockerManifest, body: dockerBody }), undefined);
    assert.equal(ociOnlyRefusal('hello', 'latest', 'docker', { mediaType: MediaType.dockerManifestList, body: '{}' }), undefined);
    assert.equal(ociOnlyRefusal('zstd/hello', 'latest', 'oci', { mediaType: MediaType.ociManifest, body: manifest(MediaType.ociLayerZstd) }), undefined);
  });

  it('names an OCI-only manifest without zstd layers plainly', () => {
    const refusal = ociOnlyRefusal('hello', 'latest', 'docker', { mediaType: MediaType.ociManifest, body: manifest(MediaType.ociLayerGzip) });
    assert.match(refusal?.message ?? '', /is published only as an OCI manifest/);
    assert.equal(ociOnlyRefusal('hello', 'latest', 'docker', { mediaType: MediaType.ociIndex, body: 'not json' })?.code, 'MANIFEST_UNKNOWN');
  });
});
