/**
 * The origin's registry app as main.ts wires it (origin/server/app.ts), with a stand-in image
 * resolver (no nix): signed manifest requests by tag, the onTagResolved hook, what stays open
 * with a secret, and the shared registry surface's behaviour suite.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { digestFromHex } from '../../shared/digest.ts';
import { registrySurfaceCases } from '../../shared/registry-surface.cases.ts';
import { signRequest } from '../../shared/signing.ts';
import type { ImageName } from '../../shared/reference.ts';
import type { ImageResolver, ResolvedImage } from '../builder/resolved-image.ts';
import { storeBlob } from '../builder/upload-layer.ts';
import { imageRecord } from '../cache/image-cache.ts';
import { buildImage } from '../image/manifest.ts';
import { createRegistryApp } from './app.ts';
import { FilesystemStorage } from '../storage/filesystem.ts';
import { withStorageErrors } from '../storage/storage-error.ts';

const SECRET = 'registry-wiring-secret-0123456789abcdef';
const logger = pino({ level: 'silent' });

describe('the origin registry app with an edge secret and a write-back hook', () => {
  let root = '';
  let storage: FilesystemStorage;
  let image: ResolvedImage;
  const layer = { digest: digestFromHex('1'.repeat(64)), diffId: digestFromHex('2'.repeat(64)), size: 10 };
  const builds: string[] = [];
  const resolved: [string, string, ResolvedImage][] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'nixedge-wiring-'));
    storage = new FilesystemStorage(root);
    const built = await buildImage({ system: 'x86_64-linux', layers: [layer], env: [], cmd: undefined });
    await storeBlob(storage, built.config.digest, built.config.bytes);
    for (const manifest of Object.values(built.manifests)) await storeBlob(storage, manifest.digest, manifest.bytes);
    image = { record: imageRecord(built, [layer]), pinned: false };
  });
  after(() => rm(root, { recursive: true, force: true }));

  /** A stand-in for the image builder: records what it was asked to build, answers the one image. */
  const images: ImageResolver = {
    image: async (name: ImageName, tag: string): Promise<ResolvedImage> => {
      builds.push(`${name.packages.join(',')}:${tag}`);
      return image;
    },
  };
  const app = (sharedSecret: string | undefined) =>
    createRegistryApp({ images, storage: withStorageErrors(storage), logger, sharedSecret, onTagResolved: (...args) => resolved.push(args) });

  it('refuses unsigned tag requests before any build; serves signed ones and calls the hook', async () => {
    builds.length = 0;
    resolved.length = 0;
    const registry = app(SECRET);
    const path = '/v2/shell/hello/manifests/latest?ns=docker.io';
    for (const method of ['GET', 'HEAD']) {
      const refused = await registry.request(path, { method });
      assert.equal(refused.status, 401, `unsigned ${method}`);
    }
    assert.equal(((await (await registry.request(path)).json()) as { errors: { code: string }[] }).errors[0]?.code, 'UNAUTHORIZED');
    assert.equal(builds.length, 0, 'no build for an unsigned request');
    const headers = await signRequest(SECRET, { direction: 'edge-to-origin', method: 'GET', pathAndQuery: path, body: new Uint8Array(0) });
    const served = await registry.request(path, { headers });
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('docker-content-digest'), image.record.manifests.docker.digest);
    assert.deepEqual(resolved, [['shell/hello', 'latest', image]], 'the hook gets the name as requested');
  });

  it('with a secret, what never builds stays open: /v2/, tags/list, manifests by digest, blobs', async () => {
    builds.length = 0;
    resolved.length = 0;
    const registry = app(SECRET);
    assert.equal((await registry.request('/v2/')).status, 200);
    assert.deepEqual(await (await registry.request('/v2/hello/tags/list')).json(), { name: 'hello', tags: ['latest'] });
    const byDigest = await registry.request(`/v2/hello/manifests/${image.record.manifests.oci.digest}`);
    assert.equal(byDigest.status, 200);
    assert.equal(byDigest.headers.get('docker-content-digest'), image.record.manifests.oci.digest);
    const config = image.record.blobs.find((blob) => blob.digest !== layer.digest);
    assert.ok(config);
    const blob = await registry.request(`/v2/hello/blobs/${config.digest}`);
    assert.equal(blob.status, 200);
    assert.equal(Number(blob.headers.get('content-length')), config.size);
    assert.equal(builds.length, 0, 'nothing built');
    assert.equal(resolved.length, 0, 'nothing written back');
  });

  it("answers the edge's requests in JSON whatever the browser behind it accepts; a browser asking directly gets a page", async () => {
    const registry = app(SECRET);
    const path = '/v2/Hello/manifests/latest';
    const accept = 'text/html,application/xhtml+xml,*/*;q=0.8';
    const headers = await signRequest(SECRET, { direction: 'edge-to-origin', method: 'GET', pathAndQuery: path, body: new Uint8Array(0) });
    const forwarded = await registry.request(path, { headers: { ...headers, Accept: accept } });
    assert.equal(forwarded.status, 400);
    assert.match(forwarded.headers.get('content-type') ?? '', /^application\/json/);
    const direct = await registry.request(path, { headers: { Accept: accept } });
    assert.equal(direct.status, 400);
    assert.match(direct.headers.get('content-type') ?? '', /^text\/html/);
  });

  it('without a secret, tag requests are open (the origin alone)', async () => {
    resolved.length = 0;
    const response = await app(undefined).request('/v2/hello/manifests/latest');
    assert.equal(response.status, 200);
    assert.equal(resolved.length, 1);
  });

  it('records each manifest it serves, by tag and by digest, as used (bucket GC keeps what is used)', async () => {
    const served: string[] = [];
    const registry = createRegistryApp({ images, storage: withStorageErrors(storage), logger, onManifestServed: (digest) => served.push(digest) });
    await registry.request('/v2/hello/manifests/latest', { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    await registry.request('/v2/hello/manifests/latest', { method: 'HEAD' });
    await registry.request(`/v2/hello/manifests/${image.record.manifests.oci.digest}`);
    await registry.request(`/v2/hello/manifests/${digestFromHex('9'.repeat(64))}`); // unknown: not served, not recorded
    assert.deepEqual(served, [image.record.manifests.oci.digest, image.record.manifests.docker.digest, image.record.manifests.oci.digest]);
  });

  describe('the shared registry surface (shared/registry-surface.cases.ts)', () => {
    for (const c of registrySurfaceCases) it(c.name, () => c.run((path, init) => Promise.resolve(app(SECRET).request(path, init))));
  });
});
