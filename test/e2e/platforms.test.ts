/**
 * End to end: multi-platform images (NIXEDGE_PLATFORMS=linux/amd64,linux/arm64). One name, the
 * right architecture for every client: an OCI index or a Docker manifest list by Accept, the
 * first platform's manifest for clients that accept neither; through the edge and from the
 * origin alone; a zstd image's index, refused with the reason to clients that cannot read it. (The fixture's arm64 packages are "cross-built": recorded as aarch64-linux, built
 * here on x86_64; the Docker engine's pull is in docker.test.ts.)
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { startOrigin, FIXTURE_PKGS, type RunningOrigin } from '../../local-stack/origin-process.ts';
import { startLocalEdge, type LocalEdge } from '../../local-stack/index.ts';
import { freePort } from '../../local-stack/wrangler-dev.ts';
import { chrootRun, tempDir, umociUnpack } from './clients.ts';
import { waitForEdgeHit } from './edge-cache.ts';

const PLATFORMS = 'linux/amd64,linux/arm64';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

interface Listing {
  mediaType: string;
  manifests: { digest: string; platform: { architecture: string; os: string; variant?: string } }[];
}

/** What a client copying `image` with skopeo gets: the config of the platform it picked. */
async function copiedConfig(host: string, image: string, layout: string, override: string[] = []): Promise<{ architecture: string; variant?: string }> {
  await mkdir(layout, { recursive: true });
  await execa('skopeo', ['copy', '--src-tls-verify=false', ...override, `docker://${host}/${image}`, `oci:${layout}:x`]);
  const blob = async (digest: string) => JSON.parse(await readFile(join(layout, 'blobs', 'sha256', digest.slice(7)), 'utf8')) as unknown;
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = (await blob(index.manifests[0]!.digest)) as { config: { digest: string } };
  return (await blob(manifest.config.digest)) as { architecture: string; variant?: string };
}

/** The behaviour every tier shows, checked against `base` (`http://host:port`). */
async function checkMultiPlatform(base: string, work: string): Promise<void> {
  const host = new URL(base).host;
  const { stdout: raw } = await execa('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${host}/hello:latest`]);
  const index = JSON.parse(raw) as Listing;
  assert.equal(index.mediaType, OCI_INDEX, 'skopeo accepts OCI indexes');
  assert.deepEqual(
    index.manifests.map((m) => m.platform),
    [{ architecture: 'amd64', os: 'linux' }, { architecture: 'arm64', os: 'linux', variant: 'v8' }],
  );

  const arm = await copiedConfig(host, 'hello:latest', join(work, 'arm'), ['--override-arch', 'arm64']);
  assert.equal(arm.architecture, 'arm64');
  assert.equal(arm.variant, 'v8');
  const amd = await copiedConfig(host, 'hello:latest', join(work, 'amd'), ['--override-arch', 'amd64']);
  assert.equal(amd.architecture, 'amd64');
  const rootfs = await umociUnpack(join(work, 'amd'), 'x', join(work, 'amd-bundle'));
  assert.equal((await chrootRun(rootfs, ['/bin/hello'])).trim(), 'Hello, world!', 'the amd64 image runs here');

  const get = async (accept: string) => {
    const response = await fetch(`${base}/v2/hello/manifests/latest`, { headers: { Accept: accept } });
    assert.equal(response.status, 200, accept);
    const body = await response.text();
    const digest = response.headers.get('docker-content-digest') ?? '';
    assert.equal(digest, `sha256:${(await execa('sha256sum', { input: body })).stdout.split(' ')[0]}`, 'Docker-Content-Digest follows the bytes served');
    return { type: response.headers.get('content-type'), body, digest };
  };
  const list = await get(`${DOCKER_MANIFEST}, ${DOCKER_LIST}`);
  assert.equal(list.type, DOCKER_LIST, 'a client accepting only Docker types gets a manifest list');
  const listed = JSON.parse(list.body) as Listing;
  assert.ok(listed.manifests.every((m) => (m as unknown as { mediaType: string }).mediaType === DOCKER_MANIFEST));
  const single = await get(`${OCI_MANIFEST}, ${DOCKER_MANIFEST}`);
  assert.equal(single.type, OCI_MANIFEST, 'a client accepting no list gets the first platform\'s manifest');
  assert.equal(single.digest, index.manifests[0]!.digest, 'the amd64 one');
  const head = await fetch(`${base}/v2/hello/manifests/latest`, { method: 'HEAD', headers: { Accept: OCI_INDEX } });
  assert.equal(head.headers.get('docker-content-digest'), (await get(OCI_INDEX)).digest, 'HEAD answers the same digest');
  for (const entry of [...index.manifests, ...listed.manifests]) {
    const byDigest = await fetch(`${base}/v2/hello/manifests/${entry.digest}`);
    assert.equal(byDigest.status, 200, `every platform manifest is fetchable by digest (${entry.platform.architecture})`);
  }
  const arm64Name = await get(`${OCI_INDEX}, ${OCI_MANIFEST}`);
  assert.equal(arm64Name.type, OCI_INDEX);
  const armOnly = await fetch(`${base}/v2/arm64/hello/manifests/latest`, { headers: { Accept: `${OCI_INDEX}, ${OCI_MANIFEST}` } });
  assert.equal(armOnly.headers.get('content-type'), OCI_MANIFEST, 'arm64/... stays one arm64 image');
}

/**
 * A zstd image of several platforms: an OCI index of zstd images for OCI clients; a client that
 * accepts only Docker types, or a Docker Engine before 23, is told why (never handed a list of
 * manifests it cannot read). Answers the cache status of the refusals (the edge's).
 */
async function checkZstdIndex(base: string, work: string): Promise<(string | null)[]> {
  const host = new URL(base).host;
  const index = await fetch(`${base}/v2/zstd/hello/manifests/latest`, { headers: { Accept: `${OCI_INDEX}, ${OCI_MANIFEST}` } });
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('content-type'), OCI_INDEX);
  const listing = (await index.json()) as Listing;
  const arm = listing.manifests.find((m) => m.platform.architecture === 'arm64');
  const armManifest = (await (await fetch(`${base}/v2/zstd/hello/manifests/${arm?.digest}`)).json()) as { layers: { mediaType: string }[] };
  assert.ok(armManifest.layers.every((layer) => layer.mediaType === 'application/vnd.oci.image.layer.v1.tar+zstd'), 'the arm64 image has zstd layers');
  assert.equal((await copiedConfig(host, 'zstd/hello:latest', join(work, 'zstd-arm'), ['--override-arch', 'arm64'])).architecture, 'arm64');
  const statuses: (string | null)[] = [];
  for (const [accept, userAgent] of [
    [`${DOCKER_MANIFEST}, ${DOCKER_LIST}`, 'a-docker-only-client/1.0'],
    [`${OCI_INDEX}, ${OCI_MANIFEST}, ${DOCKER_LIST}`, 'docker/20.10.24+dfsg1 go/go1.19.8'],
  ] as const) {
    const refused = await fetch(`${base}/v2/zstd/hello/manifests/latest`, { headers: { Accept: accept, 'User-Agent': userAgent } });
    assert.equal(refused.status, 404, userAgent);
    const message = ((await refused.json()) as { errors: { message: string }[] }).errors[0]?.message ?? '';
    assert.match(message, /^zstd\/hello:latest has zstd-compressed layers .* or pull "hello:latest"/, userAgent);
    statuses.push(refused.headers.get('x-nixedge-cache'));
  }
  return statuses;
}

describe('multi-platform images', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    work = await tempDir('platforms');
  });
  after(async () => {
    await work?.cleanup();
  });

  it('from the origin alone: an index or list by Accept, each client gets its platform; podman resolves arm64', async () => {
    const origin = await startOrigin({ NIXERY_PKGS_PATH: FIXTURE_PKGS, STORAGE_PATH: join(work.path, 'storage'), NIXEDGE_PLATFORMS: PLATFORMS });
    try {
      await checkMultiPlatform(origin.url, join(work.path, 'origin'));
      await checkZstdIndex(origin.url, join(work.path, 'origin'));
      const podmanArgs = ['--root', join(work.path, 'podman-root'), '--runroot', join(work.path, 'podman-run'), '--storage-driver', 'vfs'];
      await execa('podman', [...podmanArgs, 'pull', '--tls-verify=false', '--arch', 'arm64', `${origin.host}/hello:latest`]);
      const { stdout } = await execa('podman', [...podmanArgs, 'image', 'inspect', '--format', '{{.Architecture}}', `${origin.host}/hello:latest`]);
      assert.equal(stdout.trim(), 'arm64', 'podman pull --arch arm64 resolved the index to the arm64 image');
    } finally {
      await origin.stop();
    }
  });

  it('through the edge: the same answers, from KV once written back', async () => {
    const local: LocalEdge = await startLocalEdge({ persistTo: join(work.path, 'edge-state'), originPort: await freePort() });
    const origin: RunningOrigin = await startOrigin({ ...local.originEnv, NIXERY_PKGS_PATH: FIXTURE_PKGS, NIXEDGE_PLATFORMS: PLATFORMS });
    try {
      assert.equal((await fetch(`${local.edge.url}/v2/hello/manifests/latest`, { headers: { Accept: OCI_INDEX } })).status, 200);
      await waitForEdgeHit(local.edge.url, '/v2/hello/manifests/latest');
      await checkMultiPlatform(local.edge.url, join(work.path, 'edge'));
      const hit = await fetch(`${local.edge.url}/v2/hello/manifests/latest`, { method: 'HEAD', headers: { Accept: DOCKER_LIST } });
      assert.equal(hit.headers.get('x-nixedge-cache'), 'HIT');
      assert.equal(hit.headers.get('content-type'), DOCKER_LIST);
      const podmanArgs = ['--root', join(work.path, 'edge-podman-root'), '--runroot', join(work.path, 'edge-podman-run'), '--storage-driver', 'vfs'];
      await execa('podman', [...podmanArgs, 'pull', '--tls-verify=false', '--arch', 'arm64', `${new URL(local.edge.url).host}/hello:latest`]);
      const { stdout } = await execa('podman', [...podmanArgs, 'image', 'inspect', '--format', '{{.Architecture}}', `${new URL(local.edge.url).host}/hello:latest`]);
      assert.equal(stdout.trim(), 'arm64', 'podman pull --arch arm64 through the edge');
      await checkZstdIndex(local.edge.url, join(work.path, 'edge'));
      await waitForEdgeHit(local.edge.url, '/v2/zstd/hello/manifests/latest');
      assert.deepEqual(await checkZstdIndex(local.edge.url, join(work.path, 'edge-hit')), ['HIT', 'HIT'], 'refused from KV, reading the platform manifest there');
    } finally {
      await origin.stop();
      await local.edge.stop();
    }
  });

  it('a platform that fails to build fails the pull, naming the platform, and no index is stored', async () => {
    const storage = join(work.path, 'failing-storage');
    const origin = await startOrigin({ NIXERY_PKGS_PATH: FIXTURE_PKGS, STORAGE_PATH: storage, NIXEDGE_PLATFORMS: PLATFORMS });
    try {
      const response = await fetch(`${origin.url}/v2/x86only/manifests/latest`, { headers: { Accept: OCI_INDEX } });
      assert.equal(response.status, 400);
      const message = ((await response.json()) as { errors: { message: string }[] }).errors[0]?.message ?? '';
      assert.match(message, /^linux\/arm64: x86only: nix failed to build x86only-1\.0/);
      // The amd64 build goes on after arm64 failed: it is stored (and cached) on its own.
      const storedObjects = async () =>
        Promise.all((await readdir(join(storage, 'layers')).catch(() => [])).map(async (name) => (await readFile(join(storage, 'layers', name))).toString('latin1')));
      const deadline = Date.now() + 20_000;
      let stored = await storedObjects();
      while (!stored.some((text) => text.includes(`"mediaType":"${OCI_MANIFEST}"`))) {
        assert.ok(Date.now() < deadline, 'the amd64 image was stored');
        await new Promise((resolve) => setTimeout(resolve, 200));
        stored = await storedObjects();
      }
      assert.ok(!stored.some((text) => text.includes(`"mediaType":"${OCI_INDEX}"`) || text.includes(`"mediaType":"${DOCKER_LIST}"`)), 'no index or list was stored');
    } finally {
      await origin.stop();
    }
  });
});
