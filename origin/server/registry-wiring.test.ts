/**
 * The registry app with the edge wiring (origin/server/app.ts): signed manifest requests by tag,
 * the onTagResolved hook, and the open content-addressed routes. The builder is a stub.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { digestFromHex } from '../../shared/digest.ts';
import { signRequest } from '../../shared/signing.ts';
import type { ImageName } from '../../shared/reference.ts';
import type { ImageBuilder, ResolvedImage } from '../builder/image-builder.ts';
import { storeBlob } from '../builder/upload-layer.ts';
import { buildImage } from '../image/manifest.ts';
import { createRegistryApp } from './app.ts';
import { FilesystemStorage } from '../storage/filesystem.ts';

const SECRET = 'registry-wiring-secret-0123456789abcdef';
const logger = pino({ level: 'silent' });

describe('registry app with an edge secret and a write-back hook', () => {
  let root = '';
  let storage: FilesystemStorage;
  let image: ResolvedImage;
  const builds: string[] = [];
  const resolved: [string, string, ResolvedImage][] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'nixedge-wiring-'));
    storage = new FilesystemStorage(root);
    const layer = { digest: digestFromHex('1'.repeat(64)), diffId: digestFromHex('2'.repeat(64)), size: 10 };
    const built = buildImage({ system: 'x86_64-linux', layers: [layer], env: [], cmd: undefined });
    await storeBlob(storage, built.config.digest, built.config.bytes);
    for (const manifest of Object.values(built.manifests)) await storeBlob(storage, manifest.digest, manifest.bytes);
    image = {
      record: {
        oci: { digest: built.manifests.oci.digest, size: built.manifests.oci.bytes.length },
        docker: { digest: built.manifests.docker.digest, size: built.manifests.docker.bytes.length },
      },
      pinned: false,
    };
  });
  after(() => rm(root, { recursive: true, force: true }));

  const app = (sharedSecret: string | undefined) => {
    const builder = {
      image: async (name: ImageName, tag: string): Promise<ResolvedImage> => {
        builds.push(`${name.packages.join(',')}:${tag}`);
        return image;
      },
    } as unknown as ImageBuilder;
    return createRegistryApp({ builder, storage, logger, sharedSecret, onTagResolved: (...args) => resolved.push(args) });
  };

  it('refuses unsigned tag requests before any build; serves signed ones and calls the hook', async () => {
    builds.length = 0;
    resolved.length = 0;
    const registry = app(SECRET);
    const path = '/v2/shell/hello/manifests/latest?ns=docker.io';
    const refused = await registry.request(path);
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { errors: { code: string }[] }).errors[0]?.code, 'UNAUTHORIZED');
    assert.equal(builds.length, 0, 'no build for an unsigned request');
    const headers = await signRequest(SECRET, { method: 'GET', pathAndQuery: path, body: new Uint8Array(0) });
    const served = await registry.request(path, { headers });
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('docker-content-digest'), image.record.docker.digest);
    assert.deepEqual(resolved, [['shell/hello', 'latest', image]], 'the hook gets the name as requested');
  });

  it('serves manifests by digest without a signature, without calling the hook', async () => {
    resolved.length = 0;
    const response = await app(SECRET).request(`/v2/hello/manifests/${image.record.oci.digest}`);
    assert.equal(response.status, 200);
    assert.equal(resolved.length, 0);
  });

  it('without a secret, tag requests are open (the origin alone)', async () => {
    resolved.length = 0;
    const response = await app(undefined).request('/v2/hello/manifests/latest');
    assert.equal(response.status, 200);
    assert.equal(resolved.length, 1);
  });
});
