import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dominatorTreeChildren, immediateDominators } from './dominators.ts';

/** Nodes reachable from `entry` when `removed` is taken out of the graph. */
function reachableWithout(successors: number[][], entry: number, removed: number): Set<number> {
  const seen = new Set<number>();
  if (entry === removed) return seen;
  const queue = [entry];
  seen.add(entry);
  for (let head = 0; head < queue.length; head++) {
    for (const target of successors[queue[head]!]!) {
      if (target !== removed && !seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  return seen;
}

/** Immediate dominators by definition: d dominates v iff v is unreachable once d is removed. */
function bruteForceIdom(successors: number[][], entry: number): number[] {
  const n = successors.length;
  const reachable = reachableWithout(successors, entry, -1);
  const dominators: Set<number>[] = Array.from({ length: n }, () => new Set<number>());
  for (let d = 0; d < n; d++) {
    if (!reachable.has(d)) continue;
    const rest = reachableWithout(successors, entry, d);
    for (const v of reachable) if (v !== d && !rest.has(v)) dominators[v]!.add(d);
  }
  return Array.from({ length: n }, (_, v) => {
    if (v === entry) return entry;
    if (!reachable.has(v)) return -1;
    const strict = [...dominators[v]!];
    // The immediate dominator is the strict dominator dominated by all the others.
    const idom = strict.find((d) => strict.every((other) => other === d || dominators[d]!.has(other)));
    assert.notEqual(idom, undefined);
    return idom!;
  });
}

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('immediateDominators', () => {
  it('computes the Lengauer-Tarjan paper example (TOPLAS 1979, fig. 1)', () => {
    const [R, A, B, C, D, E, F, G, H, I, J, K, L] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] as const;
    const successors: number[][] = [];
    successors[R] = [A, B, C];
    successors[A] = [D];
    successors[B] = [A, D, E];
    successors[C] = [F, G];
    successors[D] = [L];
    successors[E] = [H];
    successors[F] = [I];
    successors[G] = [I, J];
    successors[H] = [E, K];
    successors[I] = [K];
    successors[J] = [I];
    successors[K] = [I, R];
    successors[L] = [H];
    const expected: number[] = [];
    expected[R] = R;
    for (const v of [A, B, C, D, E, H, I, K]) expected[v] = R;
    expected[F] = C;
    expected[G] = C;
    expected[J] = G;
    expected[L] = D;
    assert.deepEqual([...immediateDominators(successors, R)], expected);
    assert.deepEqual(bruteForceIdom(successors, R), expected);
  });

  it('computes the irreducible graph of Cooper-Harvey-Kennedy (fig. 4): the entry dominates all', () => {
    // Nodes 1..6 of the paper are 0..5 here; 6 (index 5) is the entry.
    const successors = [[1], [0, 2], [1], [1, 2], [0], [4, 3]];
    assert.deepEqual([...immediateDominators(successors, 5)], [5, 5, 5, 5, 5, 5]);
  });

  it('computes a diamond, a chain and a loop', () => {
    assert.deepEqual([...immediateDominators([[1, 2], [3], [3], []], 0)], [0, 0, 0, 0]);
    assert.deepEqual([...immediateDominators([[1], [2], [3], []], 0)], [0, 0, 1, 2]);
    // 0 -> 1 -> 2 -> 1 (back edge), 2 -> 3, with a self-loop on 3.
    assert.deepEqual([...immediateDominators([[1], [2], [1, 3], [3]], 0)], [0, 0, 1, 2]);
  });

  it('marks unreachable nodes with -1 and ignores their edges', () => {
    // 3 is unreachable and points at 2, which must still be dominated by 1.
    assert.deepEqual([...immediateDominators([[1], [2], [], [2]], 0)], [0, 0, 1, -1]);
  });

  it('agrees with the definition on random graphs, whatever the successor order', () => {
    const random = seededRandom(42);
    for (let round = 0; round < 300; round++) {
      const n = 1 + Math.floor(random() * 25);
      const density = random() * 3;
      const successors: number[][] = Array.from({ length: n }, () => {
        const targets: number[] = [];
        const count = Math.floor(random() * density * 2);
        for (let k = 0; k < count; k++) targets.push(Math.floor(random() * n));
        return targets;
      });
      const entry = Math.floor(random() * n);
      const expected = bruteForceIdom(successors, entry);
      assert.deepEqual([...immediateDominators(successors, entry)], expected, `round ${round}`);
      const reversed = successors.map((targets) => [...targets].reverse());
      assert.deepEqual([...immediateDominators(reversed, entry)], expected, `round ${round} reversed`);
    }
  });

  it('handles a 100,000-node chain without recursion', () => {
    const n = 100_000;
    const successors = Array.from({ length: n }, (_, i) => (i + 1 < n ? [i + 1] : []));
    const idom = immediateDominators(successors, 0);
    assert.equal(idom[n - 1], n - 2);
  });

  it('rejects an entry or an edge outside the graph', () => {
    assert.throws(() => immediateDominators([[1], []], 2), /Expected the entry to be a node in 0\.\.1, got 2/);
    assert.throws(() => immediateDominators([[5], []], 0), /Expected successors of node 0 to be nodes in 0\.\.1, got 5/);
  });
});

describe('dominatorTreeChildren', () => {
  it('lists children in ascending order and skips the entry and unreachable nodes', () => {
    const idom = immediateDominators([[2, 1], [3], [3], [], [0]], 0);
    assert.deepEqual(dominatorTreeChildren(idom), [[1, 2, 3], [], [], [], []]);
  });
});
