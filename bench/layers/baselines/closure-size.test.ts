import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closureSizes } from './closure-size.ts';

describe('closureSizes', () => {
  it('sums a chain', () => {
    assert.deepEqual([...closureSizes([1, 10, 100], [[1], [2], []])], [111, 110, 100]);
  });

  it('counts a shared dependency once (diamond)', () => {
    assert.deepEqual([...closureSizes([1, 10, 100, 1000], [[1, 2], [3], [3], []])], [1111, 1010, 1100, 1000]);
  });

  it('gives every member of a cycle the same closure, and ignores self-references', () => {
    // 0 -> 1 -> 2 -> 1, 2 -> 3, 3 -> 3.
    assert.deepEqual([...closureSizes([1, 10, 100, 1000], [[1], [2], [1, 3], [3]])], [1111, 1110, 1110, 1000]);
  });

  it('agrees with a search from every node on random graphs crossing word boundaries', () => {
    let state = 7;
    const random = (): number => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
    for (let round = 0; round < 50; round++) {
      const n = 1 + Math.floor(random() * 100);
      const sizes = Array.from({ length: n }, () => Math.floor(random() * 1000));
      const successors = Array.from({ length: n }, () =>
        Array.from({ length: Math.floor(random() * 3) }, () => Math.floor(random() * n)),
      );
      const expected = sizes.map((_, start) => {
        const seen = new Set([start]);
        const queue = [start];
        for (let head = 0; head < queue.length; head++) {
          for (const target of successors[queue[head]!]!) {
            if (!seen.has(target)) {
              seen.add(target);
              queue.push(target);
            }
          }
        }
        return [...seen].reduce((sum, node) => sum + sizes[node]!, 0);
      });
      assert.deepEqual([...closureSizes(sizes, successors)], expected, `round ${round}`);
    }
  });

  it('rejects mismatched inputs', () => {
    assert.throws(() => closureSizes([1, 2], [[]]), /Expected one successor list per node \(2\), got 1/);
  });
});
