/**
 * End to end through the edge on Google Cloud Storage: the real Worker under wrangler dev with
 * BLOB_REDIRECT=gcs-signed in front of the real origin storing layers in the GCS emulator (the
 * Firebase storage emulator, in this process) through the JSON API. Blob GETs are redirected to
 * V4 signed URLs (GOOG4-RSA-SHA256). The emulator itself ignores signatures: a check of ours in
 * front of it (local-stack/gcs-emulator.ts, a stand-in for GCS's own verification) serves them
 * only when the signature verifies with the throwaway service account's public key. Pulled with
 * skopeo, unpacked with umoci, run with chroot.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { startOrigin, FIXTURE_PKGS, type RunningOrigin } from '../../local-stack/origin-process.ts';
import { chrootRun, pullAndUnpack, tempDir } from './clients.ts';
import { waitForEdgeHit } from './edge-cache.ts';
import { startLocalEdge, startLocalGcs, type LocalEdge, type LocalGcs } from '../../local-stack/index.ts';
import { freePort } from '../../local-stack/wrangler-dev.ts';

describe('pulling through the edge from GCS (emulator) with signed URLs', () => {
  let gcs: LocalGcs;
  let local: LocalEdge;
  let origin: RunningOrigin;
  let state: { path: string; cleanup: () => Promise<void> };
  let work: { path: string; cleanup: () => Promise<void> };

  before(async () => {
    state = await tempDir('gcs-edge-state');
    work = await tempDir('gcs-edge-work');
    gcs = await startLocalGcs();
    local = await startLocalEdge({ persistTo: state.path, originPort: await freePort(), gcs: gcs.target });
    origin = await startOrigin({ ...local.originEnv, NIXERY_PKGS_PATH: FIXTURE_PKGS });
  });
  after(async () => {
    await origin?.stop();
    await local?.edge.stop();
    await gcs?.stop();
    await state?.cleanup();
    await work?.cleanup();
  });

  it('builds into GCS, redirects blob GETs to signed URLs our check in front of the emulator verifies, and pulls through them', async () => {
    const edgeHost = new URL(local.edge.url).host;
    const first = await pullAndUnpack(edgeHost, 'shell/hello:latest', join(work.path, 'first'));
    assert.equal((await chrootRun(first, ['/bin/hello'])).trim(), 'Hello, world!');
    assert.equal(origin.steps('realise').length, 1, 'the miss built the image at the origin');
    const uploads = gcs.emulator.requests.filter((request) => request.url.startsWith(`/upload/storage/v1/b/${gcs.target.bucket}/o`));
    assert.ok(uploads.length > 0, 'the origin stored the image in the GCS emulator');

    await waitForEdgeHit(local.edge.url, '/v2/shell/hello/manifests/latest');
    const manifestResponse = await fetch(`${local.edge.url}/v2/shell/hello/manifests/latest`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(manifestResponse.status, 200);
    const manifest = (await manifestResponse.json()) as { layers: { digest: string; size: number }[] };
    const layer = manifest.layers[0]!;

    const redirect = await fetch(`${local.edge.url}/v2/shell/hello/blobs/${layer.digest}`, { redirect: 'manual' });
    assert.equal(redirect.status, 307);
    const location = new URL(redirect.headers.get('location') ?? '');
    assert.equal(location.origin, gcs.target.endpoint, 'the redirect targets the emulator');
    assert.equal(location.pathname, `/${gcs.target.bucket}/layers/${layer.digest.slice('sha256:'.length)}`, 'path style, Nixery key');
    assert.equal(location.searchParams.get('X-Goog-Algorithm'), 'GOOG4-RSA-SHA256');
    assert.equal(location.searchParams.get('X-Goog-SignedHeaders'), 'host');

    const blob = await fetch(location);
    assert.equal(blob.status, 200, 'the emulator serves the signed URL (its signature verified)');
    const bytes = Buffer.from(await blob.arrayBuffer());
    assert.equal(bytes.length, layer.size);
    assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, layer.digest, 'the right bytes');

    const tampered = new URL(location);
    const signature = tampered.searchParams.get('X-Goog-Signature') ?? '';
    tampered.searchParams.set('X-Goog-Signature', `${signature[0] === '0' ? '1' : '0'}${signature.slice(1)}`);
    const refused = await fetch(tampered);
    assert.equal(refused.status, 403, 'a tampered signature is refused');
    assert.match(await refused.text(), /SignatureDoesNotMatch/);
    const otherObject = new URL(location);
    otherObject.pathname = `/${gcs.target.bucket}/layers/${manifest.layers.at(-1)!.digest.slice('sha256:'.length)}`;
    if (otherObject.pathname !== location.pathname) {
      assert.equal((await fetch(otherObject)).status, 403, "a signature is only good for its object");
    }

    const before = gcs.emulator.requests.length;
    const second = await pullAndUnpack(edgeHost, 'shell/hello:latest', join(work.path, 'second'));
    assert.equal((await chrootRun(second, ['/bin/hello'])).trim(), 'Hello, world!');
    const signedGets = gcs.emulator.requests
      .slice(before)
      .filter((request) => request.method === 'GET' && request.url.startsWith(`/${gcs.target.bucket}/layers/`) && request.url.includes('X-Goog-Signature='));
    const layerDigests = new Set(manifest.layers.map((entry) => entry.digest.slice('sha256:'.length)));
    const fetched = new Set(signedGets.map((request) => /\/layers\/([0-9a-f]{64})/.exec(request.url)?.[1]));
    for (const digest of layerDigests) assert.ok(fetched.has(digest), `layer ${digest} was fetched through its signed URL`);
    assert.ok(signedGets.every((request) => request.status === 200 || request.status === 206), 'every signed GET verified');
    assert.equal(origin.steps('realise').length, 1, 'the second pull built nothing');
  });
});
