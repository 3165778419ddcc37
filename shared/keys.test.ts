/**
 * Golden vectors for the keys both tiers compute (shared/keys.ts): the edge redirects to storage
 * keys the origin wrote and reads KV keys the origin's write-backs named, from separately deployed
 * code. A change to any key format must fail here, not in production.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { contentKey, digestOfKey, imageCacheKey, kvBlobKey, kvManifestKey, kvNonceKey, kvRefreshKey, kvTagKey, layerCacheKey, stagingKey, usedMarkerKey } from './keys.ts';

const DIGEST = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('storage and KV keys: golden vectors', () => {
  it('storage keys (Nixery\'s layout for content)', () => {
    assert.equal(contentKey(DIGEST), 'layers/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(layerCacheKey('0'.repeat(64)), `cache/layers/${'0'.repeat(64)}`);
    assert.equal(imageCacheKey('f'.repeat(64)), `cache/images/${'f'.repeat(64)}`);
    assert.equal(stagingKey('4e2a'), 'staging/4e2a');
    assert.equal(usedMarkerKey(DIGEST), 'cache/used/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('the digest named by a content or used-marker key, and by no other key', () => {
    assert.equal(digestOfKey(contentKey(DIGEST)), DIGEST);
    assert.equal(digestOfKey(usedMarkerKey(DIGEST)), DIGEST);
    for (const key of [layerCacheKey('0'.repeat(64)), imageCacheKey('f'.repeat(64)), stagingKey('4e2a'), 'layers/abc', `layers/${'A'.repeat(64)}`]) {
      assert.equal(digestOfKey(key), undefined, key);
    }
  });

  it('KV keys of manifests, blobs and nonces', () => {
    assert.equal(kvManifestKey(DIGEST), `m/${DIGEST}`);
    assert.equal(kvBlobKey(DIGEST), `b/${DIGEST}`);
    assert.equal(kvNonceKey('0b9e6c1c-2f1e-4c52-9f4e-6d2b5a1c9e77'), 'n/0b9e6c1c-2f1e-4c52-9f4e-6d2b5a1c9e77');
  });

  it('KV keys of tag pointers: sha256 of the canonical name, NUL, the tag', async () => {
    const shellHello = 'nixedge-image/v1\nsystem=x86_64-linux\nshell=true\nbashinteractive\ncoreutils\nhello\nmoreutils\nnano';
    assert.equal(await kvTagKey(shellHello, 'latest'), 't/e0ac81fb85e2b76ad7be4e4cdadb6deb5915ef99cef8b5e19651526837321b4f');
    assert.equal(await kvRefreshKey(shellHello, 'latest'), 'r/e0ac81fb85e2b76ad7be4e4cdadb6deb5915ef99cef8b5e19651526837321b4f');
    assert.equal(
      await kvTagKey('nixedge-image/v1\nsystem=aarch64-linux\nshell=false\ngit', '0123456789abcdef0123456789abcdef01234567'),
      't/c3a8def45e17298dec05f465a62a0e2f66312c216fafaf96f511b4e47f712c24',
    );
    // `zstd/shell/hello`: the compression line sits between shell= and the packages.
    const zstdShellHello = 'nixedge-image/v1\nsystem=x86_64-linux\nshell=true\ncompression=zstd\nbashinteractive\ncoreutils\nhello\nmoreutils\nnano';
    assert.equal(await kvTagKey(zstdShellHello, 'latest'), 't/2ed416aa823a5293da5390e1f15eb5f654dedbb5d826dc529a2590abb71be447');
  });
});
