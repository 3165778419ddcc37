import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainPullBytes, layerBytes, layerDigest, pullBytes, updateBytes, type Blob } from './metrics.ts';

const blob = (digest: string, bytes: number): Blob => ({ digest, bytes });

describe('benchmark metrics', () => {
  it('models a layer: 0.4 x nar + 512 B per tar entry + 1 KiB trailer', () => {
    // 2 directory entries + (1 + 3) + (1 + 1) entries for 250 kB and 1 kB.
    assert.equal(layerBytes([250_000, 1_000]), Math.round(251_000 * 0.4) + 8 * 512 + 1024);
    assert.equal(layerDigest(['/b', '/a']), layerDigest(['/a', '/b']));
  });

  // Image 1: a, b, c. Image 2: a, c, d (c moved position).
  const images = [
    [blob('a', 100), blob('b', 10), blob('c', 1)],
    [blob('a', 100), blob('c', 1), blob('d', 1000)],
  ];
  it('D counts each digest once', () => {
    assert.equal(pullBytes(images), 100 + 10 + 1 + 1000);
  });
  it('D_chain reuses a layer only at the same chain position', () => {
    // a is a shared prefix; c after a differs from c after a, b.
    assert.equal(chainPullBytes(images), 100 + 10 + 1 + 1 + 1000);
  });
  it('churn counts what the previous version lacks', () => {
    assert.equal(updateBytes(images[0]!, images[1]!), 1000);
    assert.equal(updateBytes(images[0]!, images[0]!), 0);
  });
});
