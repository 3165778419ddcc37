import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareByteOrder } from './byte-order.ts';

describe('compareByteOrder', () => {
  it('orders like the UTF-8 bytes do', () => {
    const strings = ['b', 'a', '', 'ab', 'A', '-', '\u{1F600}', '\uFF5E', '\u00E9'];
    const expected = [...strings].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.deepEqual([...strings].sort(compareByteOrder), expected);
    assert.deepEqual(expected.slice(-2), ['\uFF5E', '\u{1F600}']);
  });

  it('gives zero only for equal strings', () => {
    assert.equal(compareByteOrder('/nix/store/a', '/nix/store/a'), 0);
    assert.ok(compareByteOrder('/nix/store/a', '/nix/store/a-b') < 0);
  });
});
