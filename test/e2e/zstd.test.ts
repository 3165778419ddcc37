/**
 * End to end: zstd layers. Pulled through the edge (the real Worker in front of the real origin)
 * by skopeo, podman and containerd's ctr, each running the image; what a client that reads only
 * Docker manifests is told, at the origin and from the edge's cache; both codecs of one image side
 * by side; and, at the origin alone, LAYER_COMPRESSION and ZSTD_LEVEL keeping the caches apart.
 * crane is not in Debian and is not run here. Docker Engine 20.10 is in docker.test.ts.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { startOrigin, FIXTURE_PKGS, type RunningOrigin } from '../../local-stack/origin-process.ts';
import { startLocalEdge, type LocalEdge } from '../../local-stack/index.ts';
import { freePort } from '../../local-stack/wrangler-dev.ts';
import { chrootRun, ociBlob, ociLayoutManifest, pullAndUnpack, skopeoCopy, startContainerd, tarUnpack, tempDir, type PrivateContainerd } from './clients.ts';
import { waitForEdgeHit } from './edge-cache.ts';

const ZSTD_LAYER = 'application/vnd.oci.image.layer.v1.tar+zstd';
const OCI_ACCEPT = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_ACCEPT = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json';

interface Manifest {
  mediaType: string;
  config: { digest: string };
  layers: { mediaType: string; digest: string; size: number }[];
}

/** The manifest a registry answers for `name:latest` to an OCI client. */
async function ociManifest(baseUrl: string, name: string): Promise<Manifest> {
  const response = await fetch(`${baseUrl}/v2/${name}/manifests/latest`, { headers: { Accept: OCI_ACCEPT } });
  assert.equal(response.status, 200, `${name}: ${await response.clone().text()}`);
  return (await response.json()) as Manifest;
}

/** The first bytes of a file. */
async function head(path: string, length: number): Promise<number[]> {
  const file = await open(path);
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(length), 0, length, 0);
    return [...buffer.subarray(0, bytesRead)];
  } finally {
    await file.close();
  }
}

describe('zstd images through the edge', () => {
  let local: LocalEdge;
  let origin: RunningOrigin;
  let state: { path: string; cleanup: () => Promise<void> };
  let work: { path: string; cleanup: () => Promise<void> };
  let containerd: PrivateContainerd;
  let host = '';

  before(async () => {
    state = await tempDir('zstd-state');
    work = await tempDir('zstd-work');
    local = await startLocalEdge({ persistTo: state.path, originPort: await freePort() });
    origin = await startOrigin({ ...local.originEnv, NIXERY_PKGS_PATH: FIXTURE_PKGS });
    host = `127.0.0.1:${local.edge.port}`;
    containerd = startContainerd(work.path);
  });
  after(async () => {
    await containerd?.stop();
    await origin.stop();
    await local.edge.stop();
    await state.cleanup();
    await work.cleanup();
  });

  it('skopeo, podman and ctr pull zstd/shell/hello through the edge; every layer is tar+zstd; it runs', async () => {
    // skopeo (a miss: the origin builds), into an OCI layout as it is.
    const layout = join(work.path, 'skopeo-layout');
    await skopeoCopy(host, 'zstd/shell/hello:latest', layout);
    const manifest = await ociLayoutManifest(layout, 'pulled');
    assert.ok(manifest.layers.length >= 2);
    for (const layer of manifest.layers) {
      assert.equal(layer.mediaType, ZSTD_LAYER);
      assert.deepEqual(await head(ociBlob(layout, layer.digest), 4), [0x28, 0xb5, 0x2f, 0xfd], `${layer.digest} is a zstd frame`);
    }
    const rootfs = await tarUnpack(layout, 'pulled', join(work.path, 'skopeo-rootfs'));
    assert.equal((await chrootRun(rootfs, ['/bin/hello'])).trim(), 'Hello, world!');
    assert.equal(origin.steps('realise').length, 1);

    // podman and ctr: answered by the edge (KV and R2) without the origin.
    await waitForEdgeHit(local.edge.url, '/v2/zstd/shell/hello/manifests/latest');
    const podman = ['--root', join(work.path, 'podman-root'), '--runroot', join(work.path, 'podman-run'), '--storage-driver', 'vfs'];
    await execa('podman', [...podman, 'pull', '--tls-verify=false', `${host}/zstd/shell/hello:latest`]);
    // This machine refuses podman's default rlimits for a container (nofile, nproc): ask for small ones.
    const run = await execa('podman', [...podman, 'run', '--rm', '--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', `${host}/zstd/shell/hello:latest`, '/bin/hello']);
    assert.equal(run.stdout.trim(), 'Hello, world!');

    await containerd.ctr(['images', 'pull', '--plain-http', '--snapshotter', 'native', `${host}/zstd/shell/hello:latest`]);
    const ctrRun = await containerd.ctr(['run', '--rm', '--snapshotter', 'native', `${host}/zstd/shell/hello:latest`, 'zstd-hello', '/bin/hello']);
    assert.equal(ctrRun.stdout.trim(), 'Hello, world!');
    assert.equal(origin.steps('realise').length, 1, 'podman and ctr were answered by the edge');
  });

  it('a client that accepts only Docker manifests gets 404 MANIFEST_UNKNOWN saying why, from the origin and then from the edge; OCI clients still pull', async () => {
    const url = `${local.edge.url}/v2/zstd/jq/manifests/latest`;
    const miss = await fetch(url, { headers: { Accept: DOCKER_ACCEPT } });
    assert.equal(miss.status, 404);
    assert.equal(miss.headers.get('x-nixedge-cache'), 'MISS', 'built by the origin for this request');
    assert.equal(miss.headers.get('vary'), 'Accept, User-Agent');
    const error = ((await miss.json()) as { errors: { code: string; message: string }[] }).errors[0];
    assert.equal(error?.code, 'MANIFEST_UNKNOWN');
    assert.match(error?.message ?? '', /^zstd\/jq:latest has zstd-compressed layers \(application\/vnd\.oci\.image\.layer\.v1\.tar\+zstd\), which only an OCI image manifest can describe, and this client accepts only Docker manifests/);
    assert.match(error?.message ?? '', /or pull "jq:latest", which has this registry's default layer compression$/);

    // Not remembered as a refusal of the name: skopeo (OCI) pulls it at once.
    const pulled = await pullAndUnpackZstd(host, 'zstd/jq:latest', join(work.path, 'jq'));
    assert.match(await chrootRun(pulled, ['/bin/jq', '--version']), /jq/);

    await waitForEdgeHit(local.edge.url, '/v2/zstd/jq/manifests/latest');
    for (const method of ['GET', 'HEAD']) {
      const hit = await fetch(url, { method, headers: { Accept: DOCKER_ACCEPT } });
      assert.equal(hit.status, 404, method);
      assert.equal(hit.headers.get('x-nixedge-cache'), 'HIT', `${method}: refused by the edge, from its cache`);
      if (method === 'GET') assert.match(((await hit.json()) as { errors: { message: string }[] }).errors[0]?.message ?? '', /has zstd-compressed layers/);
    }
    assert.equal(origin.steps('realise').filter((line) => String(line['image']).includes('jq')).length, 1, 'jq was built once');
  });

  it('the gzip and zstd images of one name coexist: other layer blobs, one config; each pulls and runs', async () => {
    const gzip = await ociManifest(local.edge.url, 'shell/hello');
    const zstd = await ociManifest(local.edge.url, 'zstd/shell/hello');
    assert.ok(gzip.layers.every((layer) => layer.mediaType === 'application/vnd.oci.image.layer.v1.tar+gzip'));
    assert.ok(zstd.layers.every((layer) => layer.mediaType === ZSTD_LAYER));
    assert.equal(zstd.config.digest, gzip.config.digest, 'the same diffIDs, so the same config');
    assert.equal(zstd.layers.length, gzip.layers.length);
    const gzipDigests = new Set(gzip.layers.map((layer) => layer.digest));
    assert.ok(zstd.layers.every((layer) => !gzipDigests.has(layer.digest)), 'no zstd layer is a gzip blob');
    const rootfs = await pullAndUnpack(host, 'shell/hello:latest', join(work.path, 'gzip'));
    assert.equal((await chrootRun(rootfs, ['/bin/hello'])).trim(), 'Hello, world!');
    // The zstd image is still the zstd one after the gzip build.
    assert.deepEqual(await ociManifest(local.edge.url, 'zstd/shell/hello'), zstd);
  });
});

/** skopeo copy into an OCI layout, then tar (umoci cannot unpack zstd). */
async function pullAndUnpackZstd(host: string, image: string, dir: string): Promise<string> {
  const layout = join(dir, 'layout');
  await skopeoCopy(host, image, layout);
  return tarUnpack(layout, 'pulled', join(dir, 'rootfs'));
}

describe('zstd caches and LAYER_COMPRESSION (origin alone)', () => {
  it('LAYER_COMPRESSION=zstd makes plain names zstd, reusing the zstd layers of zstd/ names and none of the gzip ones; another ZSTD_LEVEL builds its own', async () => {
    const storage = await tempDir('zstd-cache');
    const base = { NIXERY_PKGS_PATH: FIXTURE_PKGS, STORAGE_PATH: storage.path };
    try {
      const gzipDefault = await startOrigin(base);
      let gzip: Manifest;
      let zstd: Manifest;
      try {
        gzip = await ociManifest(gzipDefault.url, 'hello');
        zstd = await ociManifest(gzipDefault.url, 'zstd/hello');
        // Every store-path layer (all but the customisation layer) once per codec.
        assert.equal(gzipDefault.steps('layer').length, gzip.layers.length - 1 + zstd.layers.length - 1, 'each codec built its own layers');
      } finally {
        await gzipDefault.stop();
      }

      const zstdDefault = await startOrigin({ ...base, LAYER_COMPRESSION: 'zstd' });
      try {
        const plain = await ociManifest(zstdDefault.url, 'hello');
        assert.ok(plain.layers.every((layer) => layer.mediaType === ZSTD_LAYER));
        assert.deepEqual(plain.layers.map((l) => l.digest), zstd.layers.map((l) => l.digest), 'the zstd layers of zstd/hello');
        assert.equal(zstdDefault.steps('layer').length, 0, 'no store-path layer built: the zstd layer cache answered');
        const gzipDigests = new Set(gzip.layers.map((layer) => layer.digest));
        assert.ok(plain.layers.every((layer) => !gzipDigests.has(layer.digest)));
        for (const layer of plain.layers) {
          assert.deepEqual(await head(join(storage.path, 'layers', layer.digest.slice(7)), 4), [0x28, 0xb5, 0x2f, 0xfd]);
        }
      } finally {
        await zstdDefault.stop();
      }

      const level9 = await startOrigin({ ...base, LAYER_COMPRESSION: 'zstd', ZSTD_LEVEL: '9' });
      try {
        const other = await ociManifest(level9.url, 'hello');
        assert.equal(level9.steps('layer').length, other.layers.length - 1, 'level 9 is another codec: every layer is built, none taken from level 3');
        assert.ok(other.layers.every((layer) => layer.mediaType === ZSTD_LAYER));
        assert.notDeepEqual(other.layers.map((l) => l.digest), zstd.layers.map((l) => l.digest));
      } finally {
        await level9.stop();
      }
    } finally {
      await storage.cleanup();
    }
  });
});
