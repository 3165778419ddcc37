/**
 * Storage faults, injected for real: the origin uploads to wrangler's local R2 through a TCP
 * fault proxy (test/support/fault-proxy.ts) that can slow, cut or refuse its connections, while
 * clients pull through the edge as in production. Nothing half-written is ever referenced, a
 * retried build reuses what was completed, an outage is a 503 for misses while hits keep working.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startOrigin, FIXTURE_PKGS, type RunningOrigin } from '../../local-stack/origin-process.ts';
import { chrootRun, pullAndUnpack, tempDir } from './clients.ts';
import { waitForEdgeHit } from './edge-cache.ts';
import { startLocalEdge, type LocalEdge } from '../../local-stack/index.ts';
import { freePort } from '../../local-stack/wrangler-dev.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { S3Storage } from '../../origin/storage/s3.ts';

/** Every key in the bucket. */
async function listKeys(storage: S3Storage): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await storage.client.send(new ListObjectsV2Command({ Bucket: storage.bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** What the invariant check looked at: at least this much must have been seen for it to mean anything. */
interface Checked {
  blobs: number;
  manifests: number;
  imageEntries: number;
}

/**
 * The storage invariants: every content-addressed object holds what its name says, every manifest
 * names only blobs that exist, every image cache entry names only manifests that exist. Returns
 * what it checked, and fails when it checked less than `atLeast` (an empty bucket proves nothing).
 */
async function assertNothingHalfWritten(storage: S3Storage, atLeast: Partial<Checked>): Promise<Checked> {
  const keys = new Set(await listKeys(storage));
  const checked: Checked = { blobs: 0, manifests: 0, imageEntries: 0 };
  for (const key of keys) {
    if (!key.startsWith('layers/')) continue;
    const bytes = await storage.readBytes(key);
    assert.ok(bytes, key);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), key.slice('layers/'.length), `${key} holds what its name says`);
    checked.blobs += 1;
    let parsed: { mediaType?: string; config?: { digest: string }; layers?: { digest: string }[] } | undefined;
    try {
      parsed = JSON.parse(bytes.toString('utf8')) as typeof parsed;
    } catch {
      continue; // a layer
    }
    if (parsed?.layers === undefined || parsed.config === undefined) continue;
    checked.manifests += 1;
    for (const named of [parsed.config, ...parsed.layers]) {
      assert.ok(keys.has(`layers/${named.digest.slice(7)}`), `manifest ${key} names ${named.digest}, which exists`);
    }
  }
  for (const key of keys) {
    if (!key.startsWith('cache/images/')) continue;
    const entry = JSON.parse((await storage.readBytes(key))!.toString('utf8')) as { documents: { digest: string }[] };
    assert.ok(entry.documents.length > 0, `image cache entry ${key} names manifests`);
    for (const manifest of entry.documents) {
      assert.ok(keys.has(`layers/${manifest.digest.slice(7)}`), `image cache entry ${key} names an existing manifest`);
    }
    checked.imageEntries += 1;
  }
  for (const [what, minimum] of Object.entries(atLeast) as [keyof Checked, number][]) {
    assert.ok(checked[what] >= minimum, `Expected the check to see at least ${minimum} ${what}, it saw ${checked[what]}`);
  }
  return checked;
}

/** The layers the layer cache knows (their blobs' keys): only these are never built again. */
async function cachedLayerKeys(storage: S3Storage): Promise<Set<string>> {
  const cached = new Set<string>();
  for (const key of await listKeys(storage)) {
    if (!key.startsWith('cache/layers/')) continue;
    const entry = JSON.parse((await storage.readBytes(key))!.toString('utf8')) as { digest: string };
    cached.add(`layers/${entry.digest.slice('sha256:'.length)}`);
  }
  return cached;
}

/** The layers of a manifest, as storage keys. */
function manifestLayerKeys(manifest: { layers: { digest: string }[] }): string[] {
  return manifest.layers.map((layer) => `layers/${layer.digest.slice('sha256:'.length)}`);
}

describe('storage faults between the origin and R2', () => {
  let local: LocalEdge;
  let proxy: FaultProxy;
  let origin: RunningOrigin;
  let originEnv: Record<string, string>;
  let direct: S3Storage;
  let state: { path: string; cleanup: () => Promise<void> };
  let work: { path: string; cleanup: () => Promise<void> };

  before(async () => {
    state = await tempDir('faults-state');
    work = await tempDir('faults-work');
    local = await startLocalEdge({ persistTo: state.path, originPort: await freePort() });
    proxy = await startFaultProxy(local.edge.port);
    originEnv = { ...local.originEnv, S3_ENDPOINT: `${proxy.url}/cdn-cgi/local/r2/s3`, NIXERY_PKGS_PATH: FIXTURE_PKGS };
    origin = await startOrigin(originEnv);
    direct = new S3Storage({
      endpoint: local.originEnv['S3_ENDPOINT']!,
      bucket: local.originEnv['S3_BUCKET']!,
      region: 'auto',
      accessKeyId: local.originEnv['S3_ACCESS_KEY_ID']!,
      secretAccessKey: local.originEnv['S3_SECRET_ACCESS_KEY']!,
      forcePathStyle: true,
    });
  });
  after(async () => {
    await origin?.stop();
    await proxy?.stop();
    await local?.edge.stop();
    await state?.cleanup();
    await work?.cleanup();
  });

  it('builds through a slow storage server', async () => {
    proxy.set({ kind: 'delay', ms: 2 });
    const rootfs = await pullAndUnpack(new URL(local.edge.url).host, 'shell/hello:latest', join(work.path, 'slow'));
    assert.equal((await chrootRun(rootfs, ['/bin/hello'])).trim(), 'Hello, world!');
    proxy.set({ kind: 'pass' });
  });

  it('answers misses with 503 while storage is down, and keeps serving cached images', async () => {
    await waitForEdgeHit(local.edge.url, '/v2/shell/hello/manifests/latest');
    proxy.set({ kind: 'refuse' });
    try {
      const rootfs = await pullAndUnpack(new URL(local.edge.url).host, 'shell/hello:latest', join(work.path, 'outage-hit'));
      assert.equal((await chrootRun(rootfs, ['/bin/hello'])).trim(), 'Hello, world!', 'a cached image pulls');
      const started = Date.now();
      const miss = await fetch(`${local.edge.url}/v2/jq/manifests/latest`);
      assert.equal(miss.status, 503);
      const body = (await miss.json()) as { errors: { code: string; message: string }[] };
      assert.equal(body.errors[0]?.code, 'UNAVAILABLE');
      assert.match(body.errors[0]!.message, /[Ss]torage/);
      assert.ok(Number(miss.headers.get('retry-after')) > 0);
      assert.ok(Date.now() - started < 30_000, `answered in ${Date.now() - started} ms`);
    } finally {
      proxy.set({ kind: 'pass' });
    }
    // shell/hello was built and cached through this storage: its blobs, manifests and entry are checked.
    await assertNothingHalfWritten(direct, { blobs: 3, manifests: 2, imageEntries: 1 });
  });

  it('answers 503 within STORAGE_TIMEOUT_SECONDS when storage stalls, and frees the build slot', async () => {
    // An origin of its own, without the edge's secret, one build at a time, a short storage timeout.
    const { NIXEDGE_SHARED_SECRET: _secret, EDGE_URL: _edge, PORT: _port, ...alone } = originEnv;
    const stalled = await startOrigin({ ...alone, STORAGE_TIMEOUT_SECONDS: '2', MAX_CONCURRENT_BUILDS: '1', MAX_QUEUED_BUILDS: '0' });
    try {
      proxy.set({ kind: 'stall' });
      const started = Date.now();
      const answer = await fetch(`${stalled.url}/v2/jq/manifests/latest`);
      const elapsed = Date.now() - started;
      assert.equal(answer.status, 503);
      assert.equal(((await answer.json()) as { errors: { code: string }[] }).errors[0]?.code, 'UNAVAILABLE');
      assert.ok(Number(answer.headers.get('retry-after')) > 0, 'Retry-After');
      assert.ok(elapsed < 30_000, `bounded: answered in ${elapsed} ms (5 attempts of 2 s, with backoff)`);
      proxy.set({ kind: 'pass' });
      const next = await fetch(`${stalled.url}/v2/shell/hello/manifests/latest`, { method: 'HEAD' });
      assert.equal(next.status, 200, 'the one build slot is free again (no 429)');
    } finally {
      proxy.set({ kind: 'pass' });
      await stalled.stop();
    }
  });

  it('leaves nothing half-written when connections are cut mid-upload, and the retry reuses the layers that attempt completed', async () => {
    const before = await cachedLayerKeys(direct); // a baseline: what earlier tests stored does not count
    proxy.set({ kind: 'cut-after', bytes: 1024 * 1024 });
    const failed = await fetch(`${local.edge.url}/v2/python3/manifests/latest`);
    assert.equal(failed.status, 503, 'the big layer could not be stored');
    assert.ok(proxy.cuts > 0, 'connections were cut');
    await assertNothingHalfWritten(direct, { blobs: 1 });
    const stored = await cachedLayerKeys(direct);
    const caused = [...stored].filter((key) => !before.has(key));
    assert.ok(caused.length > 0, 'the failed attempt completed some layers of its own');

    proxy.set({ kind: 'pass' });
    const layerStepsBefore = origin.steps('layer').length;
    const retried = await fetch(`${local.edge.url}/v2/python3/manifests/latest`);
    assert.equal(retried.status, 200);
    const manifest = (await retried.json()) as { layers: { digest: string }[] };
    const storePathLayers = manifestLayerKeys(manifest).slice(0, -1); // the last one is the customisation layer
    const rebuilt = origin.steps('layer').length - layerStepsBefore;
    assert.equal(rebuilt, storePathLayers.filter((key) => !stored.has(key)).length, 'the retry built exactly the layers not completed yet');
    assert.ok(storePathLayers.some((key) => caused.includes(key)), 'and reused layers the failed attempt had stored');
    await assertNothingHalfWritten(direct, { manifests: 2, imageEntries: 1 });
  });

  it('resumes a build after the origin crashed mid-upload, rebuilding only what was not stored', async () => {
    const before = await cachedLayerKeys(direct); // a baseline: what earlier tests stored does not count
    proxy.set({ kind: 'delay', ms: 400 }); // small layers finish, the 12 MB one crawls
    const pending = fetch(`${local.edge.url}/v2/python3packages.numpy/manifests/latest`).catch(() => undefined);
    // Kill the origin once this build has completed a layer (its layer cache entry is written).
    const deadline = Date.now() + 60_000;
    while ([...(await cachedLayerKeys(direct))].every((key) => before.has(key))) {
      assert.ok(Date.now() < deadline, 'some layer of this build completed');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await origin.stop('SIGKILL');
    await pending;
    await assertNothingHalfWritten(direct, { blobs: 1 });
    const stored = await cachedLayerKeys(direct);
    const caused = [...stored].filter((key) => !before.has(key));
    assert.ok(caused.length > 0, 'the crashed build completed some layers of its own');

    proxy.set({ kind: 'pass' });
    origin = await startOrigin(originEnv);
    const response = await fetch(`${local.edge.url}/v2/python3packages.numpy/manifests/latest`);
    assert.equal(response.status, 200);
    const manifest = (await response.json()) as { layers: { digest: string }[] };
    const storePathLayers = manifestLayerKeys(manifest).slice(0, -1);
    assert.equal(origin.steps('layer').length, storePathLayers.filter((key) => !stored.has(key)).length, 'the restart built exactly the layers not completed yet');
    assert.ok(storePathLayers.some((key) => caused.includes(key)), 'and reused layers stored before the crash');
    const rootfs = await pullAndUnpack(new URL(local.edge.url).host, 'python3packages.numpy:latest', join(work.path, 'after-crash'));
    const storePaths = await readdir(join(rootfs, 'nix/store'));
    assert.ok(storePaths.some((name) => name.endsWith('-python3-3.11.7') || name.includes('-python3-')), 'the image holds python3');
    assert.ok(storePaths.some((name) => name.includes('numpy')), 'and numpy');
    await assertNothingHalfWritten(direct, { manifests: 4, imageEntries: 2 });
  });
});
