import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePopularity, popularityKey } from './popularity.ts';

describe('parsePopularity', () => {
  it('reads popcount output: an object of package name to reference count', () => {
    const popularity = parsePopularity(JSON.parse('{"glibc-2.27":302571,"openssl-1.0.2r":4518,"zlib-1.2.11":2}'));
    assert.deepEqual([...popularity], [
      ['glibc-2.27', 302571],
      ['openssl-1.0.2r', 4518],
      ['zlib-1.2.11', 2],
    ]);
  });

  it('accepts an empty file and keeps odd keys as plain data', () => {
    assert.equal(parsePopularity({}).size, 0);
    assert.equal(parsePopularity(JSON.parse('{"__proto__":5}')).get('__proto__'), 5);
  });

  it('rejects anything but an object', () => {
    for (const [value, shown] of [
      [[], 'an array'],
      [null, 'null'],
      ['{}', '"{}"'],
      [3, '3'],
    ] as const) {
      assert.throws(
        () => parsePopularity(value),
        new TypeError(`Expected the popularity file to be a JSON object mapping package names to reference counts, got ${shown}`),
      );
    }
  });

  it('rejects counts that are not non-negative integers', () => {
    for (const [value, shown] of [
      [1.5, '1.5'],
      [-1, '-1'],
      ['12', '"12"'],
      [null, 'null'],
      [{}, 'object'],
      [2 ** 60, String(2 ** 60)],
    ] as const) {
      assert.throws(
        () => parsePopularity({ 'glibc-2.27': value }),
        new TypeError(`Expected the popularity of "glibc-2.27" to be a non-negative integer, got ${shown}`),
      );
    }
  });
});

describe('popularityKey', () => {
  it('strips the store directory and the hash, keeping name and version', () => {
    assert.equal(popularityKey('/nix/store/5rz4d8v9q0n5b1xjz0p4kfl3d0nz7bm2-glibc-2.27'), 'glibc-2.27');
    assert.equal(popularityKey('/nix/store/5rz4d8v9q0n5b1xjz0p4kfl3d0nz7bm2-openssl-3.0.13-bin'), 'openssl-3.0.13-bin');
    assert.equal(popularityKey('/tmp/store/5rz4d8v9q0n5b1xjz0p4kfl3d0nz7bm2-zlib-1.3'), 'zlib-1.3');
  });

  it('leaves a name without a hash as it is, as Nixery does', () => {
    assert.equal(popularityKey('/nix/store/Not-A-Hash'), 'Not-A-Hash');
  });
});
