/**
 * The edge in workerd with real (local) KV: hits, negotiation, blob redirects, write-back
 * authentication, tag freshness and an origin that is down. Misses go to a stand-in origin
 * (a real HTTP server, edge/test/stand-in-origin.ts); end-to-end tests use the real origin.
 */

import { describe, it, expect, beforeEach } from 'vitest';
import { env } from 'cloudflare:test';
import { EdgeCache } from './cache.ts';
import { parseImageName } from '../shared/reference.ts';
import { MAX_WRITE_BACK_BYTES } from '../shared/protocol.ts';
import { testImage, testIndex, zstdTestImage } from './test/fixtures.ts';
import {
  DOCKER_ACCEPT,
  OCI_ACCEPT,
  countingKv,
  errorCode,
  originRequests,
  postWriteBack,
  resetOriginRequests,
  send,
  writeBackFor,
} from './test/helpers.ts';

const kv = () => (env as { CACHE: KVNamespace }).CACHE;

beforeEach(async () => {
  await resetOriginRequests();
});

describe('hits from KV', () => {
  it('answers a written-back image by tag and by digest without the origin, with exact headers', async () => {
    const image = await testImage('hits');
    expect((await postWriteBack(JSON.stringify(writeBackFor(image, 'shell/hits', 'latest', false)))).status).toBe(204);

    for (const method of ['GET', 'HEAD']) {
      const byTag = await send('/v2/shell/hits/manifests/latest', { method, headers: { Accept: DOCKER_ACCEPT } });
      expect(byTag.status).toBe(200);
      expect(byTag.headers.get('content-type')).toBe('application/vnd.docker.distribution.manifest.v2+json');
      expect(byTag.headers.get('docker-content-digest')).toBe(image.docker.digest);
      expect(byTag.headers.get('content-length')).toBe(String(image.docker.body.length));
      expect(byTag.headers.get('x-nixedge-cache')).toBe('HIT');
      expect(byTag.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
      if (method === 'GET') expect(await byTag.text()).toBe(image.docker.body);
    }
    const oci = await send('/v2/shell/hits/manifests/latest', { headers: { Accept: OCI_ACCEPT } });
    expect(oci.headers.get('content-type')).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(await oci.text()).toBe(image.oci.body);

    const byDigest = await send(`/v2/shell/hits/manifests/${image.oci.digest}?ns=docker.io`);
    expect(byDigest.status).toBe(200);
    expect(byDigest.headers.get('content-type')).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(byDigest.headers.get('cache-control')).toContain('immutable');
    expect(await byDigest.text()).toBe(image.oci.body);
    expect(await originRequests()).toEqual([]);
  });

  it('reads KV once for a hit by digest and twice for a hit by tag, then answers repeats from memory', async () => {
    const image = await testImage('reads-digest');
    await postWriteBack(JSON.stringify(writeBackFor(image, 'reads', 'latest', true)));
    const byDigest = countingKv(kv());
    expect((await send(`/v2/reads/manifests/${image.docker.digest}`, {}, { CACHE: byDigest.kv })).status).toBe(200);
    expect(byDigest.reads()).toBe(1);
    expect((await send(`/v2/reads/manifests/${image.docker.digest}`, {}, { CACHE: byDigest.kv })).status).toBe(200);
    expect(byDigest.reads()).toBe(1);

    const tagged = await testImage('reads-tag');
    await postWriteBack(JSON.stringify(writeBackFor(tagged, 'readstag', 'latest', true)));
    const byTag = countingKv(kv());
    const first = await send('/v2/readstag/manifests/latest', {}, { CACHE: byTag.kv });
    expect(first.headers.get('docker-content-digest')).toBe(tagged.docker.digest);
    expect(byTag.reads()).toBe(2);
    expect((await send('/v2/readstag/manifests/latest', {}, { CACHE: byTag.kv })).status).toBe(200);
    expect(byTag.reads()).toBe(2);
  });

  it('serves a multi-platform image: an OCI index or a Docker list by Accept, the first platform\'s manifest otherwise, in 2 KV reads', async () => {
    const [amd64, arm64] = [await testImage('multi-amd64'), await testImage('multi-arm64')];
    const index = await testIndex(amd64, arm64);
    const writeBack = writeBackFor(amd64, 'multi', 'latest', true);
    writeBack.tag!.manifests['oci-index'] = { digest: index.oci.digest, size: index.oci.body.length };
    writeBack.tag!.manifests['docker-list'] = { digest: index.docker.digest, size: index.docker.body.length };
    writeBack.manifests.push(
      { digest: index.oci.digest, mediaType: 'application/vnd.oci.image.index.v1+json', body: index.oci.body },
      { digest: index.docker.digest, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', body: index.docker.body },
      { digest: arm64.oci.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', body: arm64.oci.body },
      { digest: arm64.docker.digest, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', body: arm64.docker.body },
    );
    expect((await postWriteBack(JSON.stringify(writeBack))).status).toBe(204);
    const cases: [accept: string, type: string, digest: string][] = [
      ['application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json', 'application/vnd.oci.image.index.v1+json', index.oci.digest],
      ['application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json', index.docker.digest],
      ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.manifest.v1+json', amd64.oci.digest],
    ];
    for (const [accept, type, digest] of cases) {
      const counted = countingKv(kv());
      const response = await send('/v2/multi/manifests/latest', { headers: { Accept: accept } }, { CACHE: counted.kv });
      expect(response.headers.get('content-type')).toBe(type);
      expect(response.headers.get('docker-content-digest')).toBe(digest);
      expect(response.headers.get('vary')).toBe('Accept');
      expect(counted.reads()).toBeLessThanOrEqual(2);
    }
    expect((await send(`/v2/multi/manifests/${arm64.oci.digest}`)).status).toBe(200);
    expect(await originRequests()).toEqual([]);
  });

  it('sees a new tag pointer written back at once, despite the memory', async () => {
    const before = await testImage('moving-before');
    const after = await testImage('moving-after');
    await postWriteBack(JSON.stringify(writeBackFor(before, 'movingtag', 'latest', false)));
    expect((await send('/v2/movingtag/manifests/latest')).headers.get('docker-content-digest')).toBe(before.docker.digest);
    await postWriteBack(JSON.stringify(writeBackFor(after, 'movingtag', 'latest', false)));
    expect((await send('/v2/movingtag/manifests/latest')).headers.get('docker-content-digest')).toBe(after.docker.digest);
  });

  it('resolves names canonically: component order and duplicates hit the same pointer', async () => {
    const image = await testImage('order');
    await postWriteBack(JSON.stringify(writeBackFor(image, 'shell/git/htop', 'latest', true)));
    const reordered = await send('/v2/htop/shell/git/htop/manifests/latest');
    expect(reordered.headers.get('x-nixedge-cache')).toBe('HIT');
    expect(reordered.headers.get('docker-content-digest')).toBe(image.docker.digest);
  });
});

describe('zstd images (OCI only)', () => {
  it('serves a cached zstd image to OCI clients and refuses it to Docker-only ones with 404 MANIFEST_UNKNOWN saying why', async () => {
    const image = await zstdTestImage('zstd-hit');
    expect((await postWriteBack(JSON.stringify(writeBackFor(image, 'zstd/shell/hit', 'latest', false)))).status).toBe(204);
    const oci = await send('/v2/shell/hit/zstd/manifests/latest', { headers: { Accept: OCI_ACCEPT } });
    expect(oci.status).toBe(200);
    expect(oci.headers.get('x-nixedge-cache')).toBe('HIT');
    expect(oci.headers.get('content-type')).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(await oci.text()).toBe(image.oci.body);

    for (const accept of [DOCKER_ACCEPT, undefined]) {
      const docker = await send('/v2/zstd/shell/hit/manifests/latest', accept === undefined ? {} : { headers: { Accept: accept } });
      expect(docker.status).toBe(404);
      expect(docker.headers.get('x-nixedge-cache')).toBe('HIT');
      expect(docker.headers.get('vary')).toBe('Accept, User-Agent');
      expect(docker.headers.get('cache-control')).toBe('no-store');
      const body = (await docker.json()) as { errors: { code: string; message: string }[] };
      expect(body.errors[0]?.code).toBe('MANIFEST_UNKNOWN');
      expect(body.errors[0]?.message).toMatch(/^zstd\/shell\/hit:latest has zstd-compressed layers .* accepts only Docker manifests/);
    }
    const head = await send('/v2/zstd/shell/hit/manifests/latest', { method: 'HEAD', headers: { Accept: DOCKER_ACCEPT } });
    expect(head.status).toBe(404);
    // Docker Engine 20.10 accepts OCI manifests but cannot unpack zstd: refused by its User-Agent; 23 pulls it.
    const userAgent = (version: string) => `docker/${version} go/go1.19.8 git-commit/5d6db84 kernel/6.1.0 os/linux arch/amd64`;
    const old = await send('/v2/zstd/shell/hit/manifests/latest', { headers: { Accept: `${DOCKER_ACCEPT}, ${OCI_ACCEPT}`, 'User-Agent': userAgent('20.10.24+dfsg1') } });
    expect(old.status).toBe(404);
    expect(((await old.json()) as { errors: { message: string }[] }).errors[0]?.message).toMatch(/which Docker Engine 20\.10\.24\+dfsg1 cannot unpack/);
    const current = await send('/v2/zstd/shell/hit/manifests/latest', { headers: { Accept: `${DOCKER_ACCEPT}, ${OCI_ACCEPT}`, 'User-Agent': userAgent('23.0.1') } });
    expect(current.status).toBe(200);
    // The gzip image of the same packages is another name: not written back, so a miss.
    const gzip = await send('/v2/shell/hit/manifests/latest', { method: 'HEAD', headers: { Accept: DOCKER_ACCEPT } });
    expect(gzip.headers.get('x-nixedge-cache')).toBe('MISS');
    expect((await originRequests()).map((r) => r.path)).toEqual(['/v2/shell/hit/manifests/latest']);
  });

  it("passes the origin's refusal of a Docker-only client on and does not remember it for the name", async () => {
    const docker = await send('/v2/zstd/hello/manifests/latest', { headers: { Accept: DOCKER_ACCEPT } });
    expect(docker.status).toBe(404);
    expect(docker.headers.get('x-nixedge-cache')).toBe('MISS');
    expect(await errorCode(docker)).toBe('MANIFEST_UNKNOWN');
    const oci = await send('/v2/zstd/hello/manifests/latest', { headers: { Accept: OCI_ACCEPT } });
    expect(oci.status).toBe(200);
    expect(oci.headers.get('content-type')).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(await oci.text()).toBe((await zstdTestImage('hello')).oci.body);
    expect((await originRequests()).length).toBe(2);
  });
});

describe('misses', () => {
  it('forwards misses to the origin, signed, and streams its answer back', async () => {
    const response = await send('/v2/hello/manifests/latest', { headers: { Accept: OCI_ACCEPT } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-nixedge-cache')).toBe('MISS');
    expect(response.headers.get('content-type')).toBe('application/vnd.oci.image.manifest.v1+json');
    const image = await testImage('hello');
    expect(response.headers.get('docker-content-digest')).toBe(image.oci.digest);
    expect(await response.text()).toBe(image.oci.body);
    const head = await send('/v2/hello/manifests/latest', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(image.docker.body.length));
    const requests = await originRequests();
    expect(requests.map((r) => [r.method, r.path, r.signed])).toEqual([
      ['GET', '/v2/hello/manifests/latest', true],
      ['HEAD', '/v2/hello/manifests/latest', true],
    ]);
  });

  it("passes the origin's errors through in the registry format", async () => {
    const response = await send('/v2/nosuchpackage/manifests/latest');
    expect(response.status).toBe(404);
    expect(await errorCode(response)).toBe('MANIFEST_UNKNOWN');
  });

  it('rejects bad names and digests at the edge, and methods other than GET and HEAD', async () => {
    const bad = await send('/v2/Hello/manifests/latest');
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe('NAME_INVALID');
    const badDigest = await send('/v2/hello/blobs/sha256:abc');
    expect(badDigest.status).toBe(400);
    expect(await errorCode(badDigest)).toBe('DIGEST_INVALID');
    for (const method of ['PUT', 'DELETE', 'POST', 'PATCH']) {
      const response = await send('/v2/hello/manifests/latest', { method });
      expect(response.status).toBe(405);
      expect(await errorCode(response)).toBe('UNSUPPORTED');
    }
    expect(await originRequests()).toEqual([]);
  });
});

describe('blobs', () => {
  it('redirects known blobs (307) to the public bucket and answers HEAD with the size', async () => {
    const image = await testImage('blobs');
    await postWriteBack(JSON.stringify(writeBackFor(image, 'blobs', 'latest', true)));
    const get = await send(`/v2/blobs/blobs/${image.layer.digest}`, { redirect: 'manual' });
    expect(get.status).toBe(307);
    expect(get.headers.get('location')).toBe(`https://blobs.example.test/layers/${image.layer.digest.slice(7)}`);
    const head = await send(`/v2/blobs/blobs/${image.layer.digest}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(image.layer.size));
    expect(head.headers.get('docker-content-digest')).toBe(image.layer.digest);
    expect(head.headers.get('location')).toBeNull();
    expect(await originRequests()).toEqual([]);
  });

  it('presigns redirects for a private R2 bucket (SigV4 query signing with expiry)', async () => {
    const image = await testImage('presigned');
    await postWriteBack(JSON.stringify(writeBackFor(image, 'presigned', 'latest', true)));
    const get = await send(`/v2/presigned/blobs/${image.layer.digest}`, {}, { BLOB_REDIRECT: 'r2-presigned' });
    expect(get.status).toBe(307);
    const location = new URL(get.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(
      `https://account.r2.cloudflarestorage.com/nixedge-blobs/layers/${image.layer.digest.slice(7)}`,
    );
    expect(location.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(location.searchParams.get('X-Amz-Expires')).toBe('600');
    expect(location.searchParams.get('X-Amz-Credential')).toMatch(/^test-access-key\/\d{8}\/auto\/s3\/aws4_request$/);
    expect(location.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(get.headers.get('cache-control')).toContain('private');
  });

  it("redirects to the origin's own blob URL when the origin stores layers on disk", async () => {
    const image = await testImage('origin-mode');
    await postWriteBack(JSON.stringify(writeBackFor(image, 'origin-mode', 'latest', true)));
    const get = await send(`/v2/origin-mode/blobs/${image.layer.digest}`, {}, { BLOB_REDIRECT: 'origin', ORIGIN_PUBLIC_URL: 'https://origin.example.test' });
    expect(get.status).toBe(307);
    expect(get.headers.get('location')).toBe(`https://origin.example.test/v2/origin-mode/blobs/${image.layer.digest}`);
  });

  it('sends blobs KV does not know to the origin, which answers BLOB_UNKNOWN for missing ones', async () => {
    const missing = await send(`/v2/hello/blobs/sha256:${'0'.repeat(64)}`);
    expect(missing.status).toBe(404);
    expect(await errorCode(missing)).toBe('BLOB_UNKNOWN');
    const image = await testImage('hello');
    const served = await send(`/v2/hello/blobs/${image.layer.digest}`);
    expect(served.status).toBe(200);
    expect((await served.arrayBuffer()).byteLength).toBe(image.layer.size);
  });
});

describe('write-back authentication', () => {
  const image = testImage('refused');
  const cases: [string, () => Promise<Response>][] = [
    ['unsigned', async () => send('/_nixedge/write-back', { method: 'POST', body: JSON.stringify(writeBackFor(await image, 'refused', 'latest', true)) })],
    ['signed with another secret', async () => postWriteBack(JSON.stringify(writeBackFor(await image, 'refused', 'latest', true)), { secret: 'another-secret-0123456789-0123456789-abc' })],
    [
      'body changed after signing',
      async () => {
        const body = JSON.stringify(writeBackFor(await image, 'refused', 'latest', true));
        return postWriteBack(body, { signBody: body.replace('refused', 'refusex') });
      },
    ],
    ['stale timestamp (10 minutes old)', async () => postWriteBack(JSON.stringify(writeBackFor(await image, 'refused', 'latest', true)), { now: Date.now() - 600_000 })],
    ['timestamp from the future', async () => postWriteBack(JSON.stringify(writeBackFor(await image, 'refused', 'latest', true)), { now: Date.now() + 600_000 })],
    ['malformed signature', async () => postWriteBack(JSON.stringify(writeBackFor(await image, 'refused', 'latest', true)), { headers: { 'x-nixedge-signature': 'zz' } })],
    [
      'signed for the other direction (as the edge signs its misses)',
      async () => {
        const body = JSON.stringify(writeBackFor(await image, 'refused', 'latest', true));
        const { signRequest } = await import('../shared/signing.ts');
        const headers = await signRequest('test-secret-0123456789-0123456789-abcdef', { direction: 'edge-to-origin', method: 'POST', pathAndQuery: '/_nixedge/write-back', body: new TextEncoder().encode(body) });
        return send('/_nixedge/write-back', { method: 'POST', body, headers });
      },
    ],
  ];
  for (const [what, attempt] of cases) {
    it(`refuses a write-back ${what} with 401 and writes nothing`, async () => {
      const response = await attempt();
      expect(response.status).toBe(401);
      expect(await errorCode(response)).toBe('UNAUTHORIZED');
      const digest = (await image).docker.digest;
      expect(await new EdgeCache(kv()).manifest(digest)).toBeUndefined();
      expect(await new EdgeCache(kv()).tagPointer(parseImageName('refused').canonical, 'latest')).toBeUndefined();
    });
  }

  it('refuses a replayed write-back', async () => {
    const body = JSON.stringify(writeBackFor(await testImage('replay'), 'replay', 'latest', true));
    const { signRequest } = await import('../shared/signing.ts');
    const headers = await signRequest('test-secret-0123456789-0123456789-abcdef', { direction: 'origin-to-edge', method: 'POST', pathAndQuery: '/_nixedge/write-back', body: new TextEncoder().encode(body) });
    const first = await send('/_nixedge/write-back', { method: 'POST', body, headers });
    expect(first.status).toBe(204);
    const replay = await send('/_nixedge/write-back', { method: 'POST', body, headers });
    expect(replay.status).toBe(401);
  });

  it('refuses oversized, malformed and inconsistent write-backs, writing nothing', async () => {
    const big = await postWriteBack('x'.repeat(MAX_WRITE_BACK_BYTES + 1));
    expect(big.status).toBe(400);
    expect(await errorCode(big)).toBe('SIZE_INVALID');
    const notJson = await postWriteBack('{not json');
    expect(await errorCode(notJson)).toBe('MANIFEST_INVALID');
    const wrongShape = await postWriteBack(JSON.stringify({ manifests: 'nope', blobs: [] }));
    expect(await errorCode(wrongShape)).toBe('MANIFEST_INVALID');
    const image = await testImage('inconsistent');
    const lying = writeBackFor(image, 'inconsistent', 'latest', true);
    lying.manifests[0] = { ...lying.manifests[0]!, body: `${image.oci.body} ` };
    const lie = await postWriteBack(JSON.stringify(lying));
    expect(lie.status).toBe(400);
    expect(await errorCode(lie)).toBe('DIGEST_INVALID');
    expect(await new EdgeCache(kv()).tagPointer(parseImageName('inconsistent').canonical, 'latest')).toBeUndefined();
    expect(await new EdgeCache(kv()).manifest(image.docker.digest)).toBeUndefined();
  });

  it('refuses all write-backs when no secret is configured', async () => {
    const body = JSON.stringify(writeBackFor(await testImage('nosecret'), 'nosecret', 'latest', true));
    const { signRequest } = await import('../shared/signing.ts');
    const headers = await signRequest('test-secret-0123456789-0123456789-abcdef', { direction: 'origin-to-edge', method: 'POST', pathAndQuery: '/_nixedge/write-back', body: new TextEncoder().encode(body) });
    const response = await send('/_nixedge/write-back', { method: 'POST', body, headers }, { NIXEDGE_SHARED_SECRET: '' });
    expect(response.status).toBe(403);
    expect(await errorCode(response)).toBe('DENIED');
  });
});

describe('tag freshness', () => {
  it('keeps a pinned tag forever and gives a moving tag the configured TTL', async () => {
    const pinned = await testImage('pinned');
    await postWriteBack(JSON.stringify(writeBackFor(pinned, 'pinned', 'a'.repeat(40), true)));
    const pointer = await new EdgeCache(kv()).tagPointer(parseImageName('pinned').canonical, 'a'.repeat(40));
    expect(pointer?.freshUntil).toBeNull();
    const moving = await testImage('moving');
    const before = Date.now();
    await postWriteBack(JSON.stringify(writeBackFor(moving, 'moving', 'latest', false)));
    const movingPointer = await new EdgeCache(kv()).tagPointer(parseImageName('moving').canonical, 'latest');
    expect(movingPointer?.freshUntil).toBeGreaterThanOrEqual(before + 300_000);
    expect(movingPointer?.freshUntil).toBeLessThanOrEqual(Date.now() + 300_000);
    const response = await send('/v2/moving/manifests/latest');
    expect(response.headers.get('x-nixedge-cache')).toBe('HIT');
    expect(response.headers.get('cache-control')).toBe('private, no-cache');
    expect(response.headers.get('vary')).toBe('Accept');
    const pinnedByTag = await send(`/v2/pinned/manifests/${'a'.repeat(40)}`);
    expect(pinnedByTag.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    expect(pinnedByTag.headers.get('vary')).toBe('Accept');
    // By digest nothing is negotiated: the same bytes for everyone, cacheable by anyone.
    const byDigest = await send(`/v2/pinned/manifests/${pinned.oci.digest}`);
    expect(byDigest.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(byDigest.headers.get('vary')).toBeNull();
  });

  it('serves a stale tag at once and asks the origin to refresh it in the background', async () => {
    const image = await testImage('hello-stale');
    await postWriteBack(JSON.stringify(writeBackFor(image, 'hello', 'stale', false)));
    const cache = new EdgeCache(kv());
    const canonical = parseImageName('hello').canonical;
    const pointer = await cache.tagPointer(canonical, 'stale');
    await cache.putTagPointer(canonical, 'stale', { ...pointer!, freshUntil: Date.now() - 1000 });
    const response = await send('/v2/hello/manifests/stale');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-nixedge-cache')).toBe('STALE');
    expect(response.headers.get('docker-content-digest')).toBe(image.docker.digest);
    expect((await originRequests()).map((r) => [r.method, r.path, r.signed])).toEqual([['HEAD', '/v2/hello/manifests/stale', true]]);
  });

  it('sends one refresh for 20 concurrent stale hits of a tag', async () => {
    const image = await testImage('many-stale');
    await postWriteBack(JSON.stringify(writeBackFor(image, 'manystale', 'latest', false)));
    const cache = new EdgeCache(kv());
    const canonical = parseImageName('manystale').canonical;
    const pointer = await cache.tagPointer(canonical, 'latest');
    await cache.putTagPointer(canonical, 'latest', { ...pointer!, freshUntil: Date.now() - 1000 });
    const responses = await Promise.all(Array.from({ length: 20 }, () => send('/v2/manystale/manifests/latest')));
    expect(responses.map((r) => r.headers.get('x-nixedge-cache'))).toEqual(Array(20).fill('STALE'));
    expect((await originRequests()).filter((r) => r.path === '/v2/manystale/manifests/latest')).toHaveLength(1);
    // Later stale hits within the marker's lifetime (another isolate would see it too) send none.
    await send('/v2/manystale/manifests/latest');
    expect((await originRequests()).filter((r) => r.path === '/v2/manystale/manifests/latest')).toHaveLength(1);
  });

  it('a write-back of an image whose blobs are all known writes no blob key', async () => {
    const image = await testImage('known-blobs');
    await postWriteBack(JSON.stringify(writeBackFor(image, 'knownblobs', 'latest', false)));
    const counted = countingKv(kv());
    expect((await postWriteBack(JSON.stringify(writeBackFor(image, 'knownblobs', 'v2', false)), { bindings: { CACHE: counted.kv } })).status).toBe(204);
    expect(counted.writtenKeys().filter((key) => key.startsWith('b/'))).toEqual([]);
    expect(counted.writtenKeys().some((key) => key.startsWith('t/')), 'the new tag pointer is written').toBe(true);
  });

  it('entries naming the bucket expire (bucket GC may collect it): manifests and blob sizes after KV_RETENTION_SECONDS, pointers after half', async () => {
    const image = await testImage('retention');
    const before = Math.floor(Date.now() / 1000);
    await postWriteBack(JSON.stringify(writeBackFor(image, 'retention', 'latest', true)), { bindings: { KV_RETENTION_SECONDS: '86400' } });
    const expiration = async (key: string): Promise<number | undefined> => (await kv().list({ prefix: key })).keys.find((k) => k.name === key)?.expiration;
    const near = (actual: number | undefined, seconds: number): boolean => actual !== undefined && actual >= before + seconds - 5 && actual <= before + seconds + 60;
    expect(near(await expiration(`m/${image.docker.digest}`), 86_400)).toBe(true);
    expect(near(await expiration(`b/${image.layer.digest}`), 86_400)).toBe(true);
    const pointerKey = (await kv().list({ prefix: 't/' })).keys.filter((k) => near(k.expiration, 43_200));
    expect(pointerKey.length).toBeGreaterThan(0);
  });

  it('a write-back writes manifests and blob sizes again once half their retention has passed, not before', async () => {
    const image = await testImage('renewed');
    await postWriteBack(JSON.stringify(writeBackFor(image, 'renewed', 'latest', false)));
    const fresh = countingKv(kv());
    await postWriteBack(JSON.stringify(writeBackFor(image, 'renewed', 'latest', false)), { bindings: { CACHE: fresh.kv } });
    expect(fresh.writtenKeys().filter((key) => key.startsWith('m/') || key.startsWith('b/'))).toEqual([]);
    // Four days later (of seven): the entries are rewritten, so they outlive the new pointer.
    const fourDaysAgo = Date.now() - 4 * 86_400_000;
    await kv().put(`m/${image.oci.digest}`, image.oci.body, { metadata: { mediaType: 'application/vnd.oci.image.manifest.v1+json', writtenAt: fourDaysAgo } });
    await kv().put(`b/${image.layer.digest}`, String(image.layer.size), { metadata: { writtenAt: fourDaysAgo } });
    const later = countingKv(kv());
    await postWriteBack(JSON.stringify(writeBackFor(image, 'renewed', 'latest', false)), { bindings: { CACHE: later.kv } });
    expect(later.writtenKeys().filter((key) => key.startsWith('m/') || key.startsWith('b/')).sort()).toEqual([`b/${image.layer.digest}`, `m/${image.oci.digest}`]);
  });

  it('never lets an older write-back replace a newer pointer', async () => {
    const older = await testImage('older');
    const newer = await testImage('newer');
    expect((await postWriteBack(JSON.stringify(writeBackFor(newer, 'ordering', 'latest', false)))).status).toBe(204);
    expect((await postWriteBack(JSON.stringify(writeBackFor(older, 'ordering', 'latest', false)), { now: Date.now() - 60_000 })).status).toBe(204);
    const response = await send('/v2/ordering/manifests/latest');
    expect(response.headers.get('docker-content-digest')).toBe(newer.docker.digest);
  });
});

describe('refusals remembered', () => {
  it('answers a name the origin just refused from the edge, without asking the origin again', async () => {
    const name = `nosuch${crypto.randomUUID().replaceAll('-', '')}`;
    const first = await send(`/v2/${name}/manifests/latest`);
    expect(first.status).toBe(404);
    expect(first.headers.get('x-nixedge-cache')).toBe('MISS');
    expect(await errorCode(first)).toBe('MANIFEST_UNKNOWN');
    const again = await send(`/v2/${name}/manifests/latest`);
    expect(again.status).toBe(404);
    expect(again.headers.get('x-nixedge-cache')).toBe('HIT');
    expect(await errorCode(again)).toBe('MANIFEST_UNKNOWN');
    const head = await send(`/v2/${name}/manifests/latest`, { method: 'HEAD' });
    expect(head.status).toBe(404);
    expect((await originRequests()).filter((r) => r.path.startsWith(`/v2/${name}/`))).toHaveLength(1);
    // Another tag of the same name is another question.
    expect((await send(`/v2/${name}/manifests/other`)).headers.get('x-nixedge-cache')).toBe('MISS');
  });
});

describe('origin down', () => {
  const down = { ORIGIN_URL: 'http://127.0.0.1:9' };

  it('keeps serving cached images: manifests by tag and digest, blob HEADs and redirects', async () => {
    const image = await testImage('down');
    await postWriteBack(JSON.stringify(writeBackFor(image, 'down', 'latest', false)));
    expect((await send('/v2/down/manifests/latest', {}, down)).status).toBe(200);
    expect((await send(`/v2/down/manifests/${image.oci.digest}`, {}, down)).status).toBe(200);
    expect((await send(`/v2/down/blobs/${image.layer.digest}`, { method: 'HEAD' }, down)).status).toBe(200);
    expect((await send(`/v2/down/blobs/${image.layer.digest}`, { redirect: 'manual' }, down)).status).toBe(307);
  });

  it('answers a miss with 503 UNAVAILABLE within seconds', async () => {
    const started = Date.now();
    const response = await send('/v2/notcached/manifests/latest', {}, down);
    expect(response.status).toBe(503);
    expect(await errorCode(response)).toBe('UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
