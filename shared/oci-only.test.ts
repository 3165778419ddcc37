import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MediaType, type TagFlavour } from './media-types.ts';
import type { Digest } from './digest.ts';
import { dockerEngineWithoutZstd, ociOnlyRefusal, type ManifestReader, type ManifestRequest, type ResolvedManifest } from './oci-only.ts';

const manifest = (layerType: string, mediaType: string = MediaType.ociManifest) => ({
  mediaType,
  body: JSON.stringify({ schemaVersion: 2, mediaType, config: {}, layers: [{ mediaType: layerType, digest: 'sha256:0', size: 1 }] }),
});
const ZSTD = manifest(MediaType.ociLayerZstd);
const request = (name: string, flavour: TagFlavour, userAgent?: string) => ({ name, tag: 'latest', flavour, userAgent });
/** A tier holding no other manifest. */
const nothingElse: ManifestReader = () => Promise.resolve(undefined);
const refuse = (req: ManifestRequest, manifest: ResolvedManifest, read: ManifestReader = nothingElse) => ociOnlyRefusal(req, manifest, read);
const DOCKER_20 = 'docker/20.10.24+dfsg1 go/go1.19.8 git-commit/5d6db84 kernel/6.1.0 os/linux arch/amd64 UpstreamClient(Docker-Client/20.10.24+dfsg1 \\(linux\\))';

describe('ociOnlyRefusal', () => {
  it('refuses a zstd image to a client that negotiated the Docker flavour, saying why and what to do', async () => {
    const refusal = await refuse(request('zstd/shell/hello', 'docker'), ZSTD);
    assert.ok(refusal);
    assert.equal(refusal.code, 'MANIFEST_UNKNOWN');
    assert.equal(refusal.status, 404);
    assert.match(refusal.message, /^zstd\/shell\/hello:latest has zstd-compressed layers \(application\/vnd\.oci\.image\.layer\.v1\.tar\+zstd\), which only an OCI image manifest can describe/);
    assert.match(refusal.message, /accepts only Docker manifests/);
    assert.match(refusal.message, /containerd 1\.5\+, podman, skopeo, crane, Docker 23\+/);
    assert.match(refusal.message, /or pull "shell\/hello:latest", which has this registry's default layer compression$/);
    assert.deepEqual(refusal.headers, { Vary: 'Accept, User-Agent', 'Cache-Control': 'no-store' });
    assert.match(refusal.reason ?? '', /^zstd\/shell\/hello:latest has zstd layers: this client accepts only Docker manifests$/);
  });

  it('refuses a zstd image to Docker Engine before 23, which accepts OCI manifests but cannot unpack zstd', async () => {
    const refusal = await refuse(request('zstd/hello', 'oci', DOCKER_20), ZSTD);
    assert.match(refusal?.message ?? '', /^zstd\/hello:latest has zstd-compressed layers \(.*\), which Docker Engine 20\.10\.24\+dfsg1 cannot unpack \(Docker reads them from version 23\)\. Pull it/);
    assert.equal(await refuse(request('zstd/hello', 'oci', 'docker/23.0.6 go/go1.20.4'), ZSTD), undefined);
    assert.equal(await refuse(request('zstd/hello', 'oci', 'docker/28.2.2 go/go1.24.3'), ZSTD), undefined);
    assert.equal(await refuse(request('hello', 'oci', DOCKER_20), manifest(MediaType.ociLayerGzip)), undefined, 'gzip images are for everyone');
  });

  it('reads the body as bytes too (the edge holds manifests as bytes)', async () => {
    const refusal = await refuse(request('hello', 'docker'), { mediaType: ZSTD.mediaType, body: new TextEncoder().encode(ZSTD.body) });
    assert.match(refusal?.message ?? '', /has zstd-compressed layers/);
    // Without zstd in the name (a registry whose default is zstd), dropping it is no way out.
    assert.doesNotMatch(refusal?.message ?? '', /or pull/);
  });

  it('serves what the client can read: Docker manifests, and anything to an OCI client', async () => {
    assert.equal(await refuse(request('hello', 'docker', DOCKER_20), manifest(MediaType.dockerLayerGzip, MediaType.dockerManifest)), undefined);
    assert.equal(await refuse(request('hello', 'docker'), { mediaType: MediaType.dockerManifestList, body: '{}' }), undefined);
    assert.equal(await refuse(request('zstd/hello', 'oci', 'containerd/v1.6.20'), ZSTD), undefined);
    assert.equal(await refuse(request('zstd/hello', 'oci', 'skopeo/1.9.3'), ZSTD), undefined);
  });

  it('names an OCI-only manifest without zstd layers plainly', async () => {
    const refusal = await refuse(request('hello', 'docker'), manifest(MediaType.ociLayerGzip));
    assert.match(refusal?.message ?? '', /^hello:latest is published only as an OCI manifest \(application\/vnd\.oci\.image\.manifest\.v1\+json\) and this client accepts only Docker manifests/);
    assert.equal((await refuse(request('hello', 'docker'), { mediaType: MediaType.ociIndex, body: 'not json' }))?.code, 'MANIFEST_UNKNOWN');
  });

  it('tells Docker engines without zstd by their User-Agent', async () => {
    assert.equal(dockerEngineWithoutZstd(DOCKER_20), '20.10.24+dfsg1');
    assert.equal(dockerEngineWithoutZstd('docker/19.03.15 go/go1.13.15'), '19.03.15');
    assert.equal(dockerEngineWithoutZstd('docker/23.0.0 go/go1.19.5'), undefined);
    assert.equal(dockerEngineWithoutZstd('docker/100.0.0'), undefined);
    assert.equal(dockerEngineWithoutZstd('containerd/1.6.20'), undefined);
    assert.equal(dockerEngineWithoutZstd('Go-http-client/1.1 docker/20.10.1'), undefined, 'only a User-Agent that starts with docker/');
    assert.equal(dockerEngineWithoutZstd(undefined), undefined);
  });

  it('refuses a multi-platform zstd image (its index, read through its first platform manifest) to Docker-only clients and old Docker, and reads nothing for others', async () => {
    const child = 'sha256:' + 'a'.repeat(64) as Digest;
    const index = { mediaType: MediaType.ociIndex, body: JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ mediaType: MediaType.ociManifest, digest: child, size: 1 }] }) };
    const reads: string[] = [];
    const holding = (held: ResolvedManifest): ManifestReader => (digest) => {
      reads.push(digest);
      return Promise.resolve(digest === child ? held : undefined);
    };
    assert.match((await refuse(request('zstd/hello', 'docker-list'), index, holding(ZSTD)))?.message ?? '', /has zstd-compressed layers/);
    assert.match((await refuse(request('zstd/hello', 'oci-index', DOCKER_20), index, holding(ZSTD)))?.message ?? '', /Docker Engine 20\.10\.24\+dfsg1 cannot unpack/);
    assert.deepEqual(reads, [child, child]);
    assert.equal(await refuse(request('hello', 'oci-index', DOCKER_20), index, holding(manifest(MediaType.ociLayerGzip))), undefined, 'a gzip index is for everyone');
    reads.length = 0;
    assert.equal(await refuse(request('zstd/hello', 'oci-index', 'containerd/v1.6.20'), index, holding(ZSTD)), undefined);
    assert.deepEqual(reads, [], 'no read for a client that can have it');
  });
});
