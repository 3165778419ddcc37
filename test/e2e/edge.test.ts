/**
 * End to end through the edge: the real Worker under wrangler dev (local KV, local R2) in front
 * of the real origin storing layers in that R2 through its S3 API — the production topology in
 * miniature. Pulled with skopeo, unpacked with umoci, run with chroot.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execa } from 'execa';
import { originStartFailure, startOrigin, FIXTURE_PKGS, type RunningOrigin } from '../../local-stack/origin-process.ts';
import { chrootRun, fixtureRepository, pullAndUnpack, skopeoInspectDigest, tempDir } from './clients.ts';
import { waitForEdgeHit } from './edge-cache.ts';
import { startLocalEdge, localR2Binding, type LocalEdge } from '../../local-stack/index.ts';
import { freePort } from '../../local-stack/wrangler-dev.ts';

describe('pulling through the edge', () => {
  let local: LocalEdge;
  let origin: RunningOrigin;
  let state: { path: string; cleanup: () => Promise<void> };
  let work: { path: string; cleanup: () => Promise<void> };

  before(async () => {
    state = await tempDir('edge-state');
    work = await tempDir('edge-work');
    const originPort = await freePort();
    local = await startLocalEdge({ persistTo: state.path, originPort });
    origin = await startOrigin({ ...local.originEnv, NIXERY_PKGS_PATH: FIXTURE_PKGS });
  });
  after(async () => {
    await origin?.stop();
    await local?.edge.stop();
    await state?.cleanup();
    await work?.cleanup();
  });

  it('builds on a miss, then serves the image from KV and R2 after the origin is stopped', async () => {
    const edgeHost = new URL(local.edge.url).host;
    const first = await pullAndUnpack(edgeHost, 'shell/hello:latest', join(work.path, 'first'));
    assert.equal((await chrootRun(first, ['/bin/hello'])).trim(), 'Hello, world!');
    assert.equal(origin.steps('realise').length, 1, 'the miss built the image at the origin');

    await waitForEdgeHit(local.edge.url, '/v2/shell/hello/manifests/latest');
    const digest = await skopeoInspectDigest(edgeHost, 'shell/hello:latest');
    const manifest = (await (await fetch(`${local.edge.url}/v2/shell/hello/manifests/${digest}`)).json()) as { layers: { digest: string }[] };
    const layer = manifest.layers[0]!.digest;
    const redirect = await fetch(`${local.edge.url}/v2/shell/hello/blobs/${layer}`, { redirect: 'manual' });
    assert.equal(redirect.status, 307);
    const { bucket } = await localR2Binding();
    assert.equal(redirect.headers.get('location'), `${local.edge.url}/cdn-cgi/local/r2/public/${bucket}/layers/${layer.slice(7)}`);

    await origin.stop();
    const byTag = await pullAndUnpack(edgeHost, 'shell/hello:latest', join(work.path, 'origin-down-tag'));
    assert.equal((await chrootRun(byTag, ['/bin/hello'])).trim(), 'Hello, world!');
    const byDigest = await pullAndUnpack(edgeHost, `shell/hello@${digest}`, join(work.path, 'origin-down-digest'));
    assert.equal((await chrootRun(byDigest, ['/bin/sh', '-c', 'echo still here'])).trim(), 'still here');

    const started = Date.now();
    const miss = await fetch(`${local.edge.url}/v2/jq/manifests/latest`);
    assert.equal(miss.status, 503);
    assert.equal(((await miss.json()) as { errors: { code: string }[] }).errors[0]?.code, 'UNAVAILABLE');
    assert.ok(Date.now() - started < 5000, 'the miss is answered within seconds');
  });
});

describe('the origin behind an edge', () => {
  it('refuses unsigned build requests, and pulls work through presigned R2 URLs that R2 verifies', async () => {
    const state = await tempDir('presigned-state');
    const work = await tempDir('presigned-work');
    const originPort = await freePort();
    const r2 = await localR2Binding();
    const edgePort = await freePort();
    const local = await startLocalEdge({
      persistTo: state.path,
      edgePort,
      originPort,
      vars: {
        BLOB_REDIRECT: 'r2-presigned',
        R2_S3_ENDPOINT: `http://127.0.0.1:${edgePort}/cdn-cgi/local/r2/s3`,
        R2_BUCKET: r2.bucket,
        R2_ACCESS_KEY_ID: r2.accessKeyId,
        R2_SECRET_ACCESS_KEY: r2.secretAccessKey,
      },
    });
    const origin = await startOrigin({ ...local.originEnv, NIXERY_PKGS_PATH: FIXTURE_PKGS });
    try {
      const unsigned = await fetch(`${origin.url}/v2/hello/manifests/latest`);
      assert.equal(unsigned.status, 401);
      assert.equal(((await unsigned.json()) as { errors: { code: string }[] }).errors[0]?.code, 'UNAUTHORIZED');
      assert.equal(origin.steps('evaluate').length, 0, 'an unsigned request starts no build');
      // Storage the origin cannot use stops it at start-up, saying so (not a 500 on every pull).
      const refused = await originStartFailure({ ...local.originEnv, NIXERY_PKGS_PATH: FIXTURE_PKGS, S3_SECRET_ACCESS_KEY: 'not-the-secret' });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /Storage \(s3\) cannot be used: denied/);
      // tags/list never builds: open at both tiers with the secret set (skopeo inspect needs it).
      for (const base of [origin.url, local.edge.url]) {
        const tags = await fetch(`${base}/v2/shell/hello/tags/list`);
        assert.equal(tags.status, 200, `${base} tags/list`);
        assert.deepEqual(await tags.json(), { name: 'shell/hello', tags: ['latest'] });
      }

      const edgeHost = `127.0.0.1:${edgePort}`;
      await pullAndUnpack(edgeHost, 'hello:latest', join(work.path, 'warm'));
      await waitForEdgeHit(local.edge.url, '/v2/hello/manifests/latest');
      const manifest = (await (await fetch(`${local.edge.url}/v2/hello/manifests/latest`)).json()) as { layers: { digest: string }[] };
      const redirect = await fetch(`${local.edge.url}/v2/hello/blobs/${manifest.layers[0]!.digest}`, { redirect: 'manual' });
      assert.equal(redirect.status, 307);
      const location = new URL(redirect.headers.get('location') ?? '');
      assert.equal(location.searchParams.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256');
      const blob = await fetch(location);
      assert.equal(blob.status, 200, 'local R2 accepts the presigned URL (it verifies SigV4)');
      location.searchParams.set('X-Amz-Signature', '0'.repeat(64));
      assert.equal((await fetch(location)).status, 403, 'and refuses a forged one');

      const rootfs = await pullAndUnpack(edgeHost, 'hello:latest', join(work.path, 'presigned'));
      assert.equal((await chrootRun(rootfs, ['/bin/hello'])).trim(), 'Hello, world!');
    } finally {
      await origin.stop();
      await local.edge.stop();
      await state.cleanup();
      await work.cleanup();
    }
  });
});

describe('a moving tag at the edge', () => {
  it('is served stale once its TTL passed, refreshed by the real origin, then the new image is a hit', async () => {
    const repo = await fixtureRepository(FIXTURE_PKGS);
    const { git } = repo;
    const state = await tempDir('moving-state');
    const work = await tempDir('moving-work');
    const ttlSeconds = 2;
    const local = await startLocalEdge({ persistTo: state.path, originPort: await freePort(), vars: { TAG_TTL_SECONDS: String(ttlSeconds) } });
    const origin = await startOrigin({ ...local.originEnv, NIXERY_PKGS_REPO: repo.url, NIXEDGE_CACHE_DIR: join(work.path, 'cache') });
    const head = async (): Promise<{ cache: string | null; digest: string | null }> => {
      const response = await fetch(`${local.edge.url}/v2/hello/manifests/latest`, { method: 'HEAD' });
      assert.equal(response.status, 200);
      return { cache: response.headers.get('x-nixedge-cache'), digest: response.headers.get('docker-content-digest') };
    };
    try {
      assert.equal((await head()).cache, 'MISS');
      await waitForEdgeHit(local.edge.url, '/v2/hello/manifests/latest');
      const before = await head();

      // The branch moves on; once the tag's TTL passes, the edge serves what it has and asks the origin again.
      await execa('sed', ['-i', 's/Hello, world!/Hello from a moved branch!/', join(repo.path, 'default.nix')]);
      await git('commit', '-qam', 'move main');
      await new Promise((resolve) => setTimeout(resolve, ttlSeconds * 1000 + 500));
      const stale = await head();
      assert.equal(stale.cache, 'STALE');
      assert.equal(stale.digest, before.digest, 'a stale hit serves the image it has at once');

      const deadline = Date.now() + 60_000;
      let after = await head();
      while (after.digest === before.digest || after.cache !== 'HIT') {
        assert.ok(Date.now() < deadline, 'the refresh landed within a minute');
        await new Promise((resolve) => setTimeout(resolve, 250));
        after = await head();
      }
      assert.notEqual(after.digest, before.digest);
      const rootfs = await pullAndUnpack(new URL(local.edge.url).host, 'hello:latest', join(work.path, 'moved'));
      assert.equal((await chrootRun(rootfs, ['/bin/hello'])).trim(), 'Hello from a moved branch!');
    } finally {
      await origin.stop();
      await local.edge.stop();
      await repo.cleanup();
      await state.cleanup();
      await work.cleanup();
    }
  });
});

describe('a hung origin behind the edge', () => {
  it('answers misses 503 within ORIGIN_TIMEOUT_SECONDS while the origin is frozen, and cached pulls keep working', async () => {
    const state = await tempDir('frozen-state');
    const work = await tempDir('frozen-work');
    const local = await startLocalEdge({ persistTo: state.path, originPort: await freePort(), vars: { ORIGIN_TIMEOUT_SECONDS: '3' } });
    const origin = await startOrigin({ ...local.originEnv, NIXERY_PKGS_PATH: FIXTURE_PKGS });
    try {
      await pullAndUnpack(new URL(local.edge.url).host, 'hello:latest', join(work.path, 'warm'));
      await waitForEdgeHit(local.edge.url, '/v2/hello/manifests/latest');
      process.kill(origin.pid, 'SIGSTOP'); // frozen: the connection is accepted, nothing answers
      try {
        const started = Date.now();
        const miss = await fetch(`${local.edge.url}/v2/jq/manifests/latest`);
        const elapsed = Date.now() - started;
        assert.equal(miss.status, 503);
        const body = (await miss.json()) as { errors: { code: string; message: string }[] };
        assert.equal(body.errors[0]?.code, 'UNAVAILABLE');
        assert.match(body.errors[0]!.message, /did not answer within 3 s/);
        assert.ok(Number(miss.headers.get('retry-after')) > 0, 'Retry-After');
        assert.ok(elapsed >= 2500 && elapsed < 10_000, `answered after ${elapsed} ms`);
        const rootfs = await pullAndUnpack(new URL(local.edge.url).host, 'hello:latest', join(work.path, 'frozen'));
        assert.equal((await chrootRun(rootfs, ['/bin/hello'])).trim(), 'Hello, world!', 'a cached image still pulls');
      } finally {
        process.kill(origin.pid, 'SIGCONT');
      }
    } finally {
      await origin.stop();
      await local.edge.stop();
      await state.cleanup();
      await work.cleanup();
    }
  });
});

describe('a client looping over random names', () => {
  it('meets 429 after the cold-request limit of wrangler.toml (30 a minute; at most twice that across a window\'s end), while its cached pulls pass', async () => {
    const state = await tempDir('limit-state');
    const local = await startLocalEdge({ persistTo: state.path, originPort: await freePort() });
    const origin = await startOrigin({ ...local.originEnv, NIXERY_PKGS_PATH: FIXTURE_PKGS });
    try {
      assert.equal((await fetch(`${local.edge.url}/v2/hello/manifests/latest`)).status, 200);
      await waitForEdgeHit(local.edge.url, '/v2/hello/manifests/latest');
      // The binding counts in fixed windows aligned to the clock (as Cloudflare's does): a burst that
      // straddles a window's end may pass up to twice the limit before the first 429.
      const limit = 30;
      // A client of its own: the warm-up above made cold requests from this machine's address.
      const client = { 'cf-connecting-ip': '203.0.113.7' };
      const statuses: number[] = [];
      const refusedTwice = (): boolean => statuses.length >= 2 && statuses.slice(-2).every((status) => status === 429);
      while (statuses.length < 2 * limit + 5 && !refusedTwice()) {
        const response = await fetch(`${local.edge.url}/v2/random${statuses.length}x${Date.now()}/manifests/latest`, { headers: client });
        statuses.push(response.status);
        if (response.status === 429) assert.ok(Number(response.headers.get('retry-after')) > 0, 'Retry-After');
        await response.body?.cancel();
      }
      const firstRefused = statuses.indexOf(429);
      assert.ok(firstRefused >= limit && firstRefused <= 2 * limit, `429 from request ${firstRefused + 1} on (${statuses.join(',')})`);
      assert.ok(statuses.slice(0, firstRefused).every((status) => status === 404), 'before the limit: unknown packages');
      assert.deepEqual(statuses.slice(firstRefused), statuses.slice(firstRefused).map(() => 429), 'past it: refused');
      // Only the loop's names: the warm-up's polls for a HIT may evaluate hello again at the origin.
      // Each name that passed was evaluated once (its log line may trail its answer), none past the limit.
      const evaluated = (): number => origin.steps('evaluate').filter((line) => / random\d/.test(String(line['image']))).length;
      for (let tries = 0; evaluated() < firstRefused && tries < 50; tries++) await new Promise((resolve) => setTimeout(resolve, 100));
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(evaluated(), firstRefused, 'the origin evaluated each name before the limit, none past it');
      const cached = await fetch(`${local.edge.url}/v2/hello/manifests/latest`, { method: 'HEAD', headers: client });
      assert.equal(cached.status, 200, 'a cached pull from the same client passes');
      assert.equal(cached.headers.get('x-nixedge-cache'), 'HIT');
    } finally {
      await origin.stop();
      await local.edge.stop();
      await state.cleanup();
    }
  });
});
