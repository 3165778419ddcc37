import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NIXERY_LAYER_BUDGET, nixeryLayering, nixeryVariant } from './nixery.ts';
import type { LayerGroup, Popularity } from '../../../origin/layers/types.ts';
import { checkInvariants, closure, names, path, randomClosure, shuffled } from '../../../origin/layers/test-graphs.ts';

const none: Popularity = new Map();

describe('nixeryLayering: hand-checked graphs', () => {
  it('keeps a chain in one layer (every path is dominated by the root)', () => {
    const graph = closure(['app'], { app: [100, ['lib']], lib: [20, ['libc']], libc: [3, []] });
    const layers = nixeryLayering(graph, { budget: NIXERY_LAYER_BUDGET, popularity: none });
    assert.deepEqual(layers, [{ storePaths: [path('app'), path('lib'), path('libc')], narSize: 123 }]);
  });

  it('keeps a diamond under one root in one layer', () => {
    const graph = closure(['a'], { a: [1, ['b', 'c']], b: [2, ['d']], c: [4, ['d']], d: [8, []] });
    assert.deepEqual(names(nixeryLayering(graph, { budget: 94, popularity: none })), [['a', 'b', 'c', 'd']]);
  });

  it('splits a dependency shared by two roots, and merges the lowest-rated layers first', () => {
    // Closure sizes b = 15, c = 25, d = 5; popularity 1, so ratings are 15, 25 and 5.
    const graph = closure(['b', 'c'], { b: [10, ['d']], c: [20, ['d']], d: [5, []] });
    const layering = (budget: number): string[][] => names(nixeryLayering(graph, { budget, popularity: none }));
    assert.deepEqual(layering(94), [['d'], ['b'], ['c']]);
    assert.deepEqual(layering(3), [['d'], ['b'], ['c']]);
    assert.deepEqual(layering(2), [['b', 'd'], ['c']]);
    assert.deepEqual(layering(1), [['b', 'c', 'd']]);
    assert.deepEqual(nixeryLayering(graph, { budget: 2, popularity: none }).map((layer) => layer.narSize), [15, 20]);
  });

  it('cuts a popular shared library loose from its parent (popularity >= 100)', () => {
    const graph = closure(['app'], { app: [1000, ['libfoo-1.0']], 'libfoo-1.0': [2000, ['libssl-3.0']], 'libssl-3.0': [3000, []] });
    const layering = (count: number): string[][] =>
      names(nixeryLayering(graph, { budget: 94, popularity: new Map([['libssl-3.0', count]]) }));
    assert.deepEqual(layering(99), [['app', 'libfoo-1.0', 'libssl-3.0']]);
    // Ratings: {app, libfoo} = 1 x (6000 + 5000), {libssl} = 100 x 3000.
    assert.deepEqual(layering(100), [['app', 'libfoo-1.0'], ['libssl-3.0']]);
  });

  it('gives nss-cacert and iana-etc their own layer without any popularity data', () => {
    const graph = closure(['app'], { app: [10, ['nss-cacert-3.98', 'iana-etc-20240318']], 'nss-cacert-3.98': [5, []], 'iana-etc-20240318': [5, []] });
    assert.deepEqual(names(nixeryLayering(graph, { budget: 94, popularity: none })), [['app'], ['iana-etc-20240318'], ['nss-cacert-3.98']]);
  });

  it('gives a heavy path (closure > 100 MB) its own layer, and the paths whose closure it makes heavy', () => {
    const MB = 1_000_000;
    const graph = closure(['app'], { app: [MB, ['tool', 'mid']], tool: [MB, []], mid: [MB, ['big']], big: [150 * MB, []] });
    // Closures: app 153 MB, tool 1 MB, mid 151 MB, big 150 MB: mid and big are cut loose.
    // Ratings: {app, tool} = 154 MB, {mid} = 151 MB, {big} = 150 MB.
    assert.deepEqual(names(nixeryLayering(graph, { budget: 94, popularity: none })), [['big'], ['mid'], ['app', 'tool']]);
    // Exactly 100 MB is not heavy.
    const edge = closure(['app'], { app: [MB, ['big']], big: [100 * MB, []] });
    assert.deepEqual(names(nixeryLayering(edge, { budget: 94, popularity: none })), [['app', 'big']]);
  });

  it('returns no layers for an empty closure', () => {
    assert.deepEqual(nixeryLayering({ roots: [], paths: [] }, { budget: 1, popularity: none }), []);
  });
});

describe('nixeryVariant: the cutoff and the order of the served manifest', () => {
  // Ratings with popularity 1: b = 15, c = 25, d = 5 (closure sizes).
  const graph = closure(['b', 'c'], { b: [10, ['d']], c: [20, ['d']], d: [5, []] });
  const manifest = nixeryVariant({ popularThreshold: 100, manifestOrder: true });

  it('orders layers as manifest.go does: merge rating, highest first', () => {
    assert.deepEqual(names(manifest(graph, { budget: 94, popularity: none })), [['c'], ['b'], ['d']]);
    // Budget 2: {b, d} (rating 15 + 5 = 20) after {c} (25).
    assert.deepEqual(names(manifest(graph, { budget: 2, popularity: none })), [['c'], ['b', 'd']]);
  });

  it('keeps the layers themselves those of layers.go', () => {
    const { graph: random, popularity } = randomClosure(800, 4);
    const sorted = (layers: string[][]): string[] => layers.map((layer) => layer.join(' ')).sort();
    assert.deepEqual(sorted(names(manifest(random, { budget: 94, popularity }))), sorted(names(nixeryLayering(random, { budget: 94, popularity }))));
  });

  it('cuts a path loose from the given popularity on', () => {
    const chain = closure(['app'], { app: [1000, ['libfoo-1.0']], 'libfoo-1.0': [2000, ['libssl-3.0']], 'libssl-3.0': [3000, []] });
    const popularity = new Map([['libssl-3.0', 5]]);
    const at = (popularThreshold: number): string[][] => names(nixeryVariant({ popularThreshold, manifestOrder: false })(chain, { budget: 94, popularity }));
    assert.deepEqual(at(6), [['app', 'libfoo-1.0', 'libssl-3.0']]);
    assert.deepEqual(at(5), [['app', 'libfoo-1.0'], ['libssl-3.0']]);
  });
});

describe('nixeryLayering: invariants', () => {
  const { graph, popularity } = randomClosure(1500, 1);
  const unlimited = nixeryLayering(graph, { budget: Number.MAX_SAFE_INTEGER, popularity });

  it('starts from more layers than the budgets tested', () => {
    assert.ok(unlimited.length > 94, `Expected the test closure to need more than 94 layers, got ${unlimited.length}`);
    checkInvariants(graph, unlimited, Number.MAX_SAFE_INTEGER);
  });

  for (const budget of [1, 2, 5, 94]) {
    it(`puts every path in exactly one of at most ${budget} layers, keeping the ${budget - 1} highest-rated whole`, () => {
      const layers = nixeryLayering(graph, { budget, popularity });
      checkInvariants(graph, layers, budget);
      assert.equal(layers.length, budget);
      assert.deepEqual(layers.slice(1), unlimited.slice(unlimited.length - budget + 1));
    });
  }

  it('gives the same layers for any order of paths, references and roots', () => {
    const expected = nixeryLayering(graph, { budget: 94, popularity });
    for (const seed of [2, 3, 4]) {
      assert.deepEqual(nixeryLayering(shuffled(graph, seed), { budget: 94, popularity }), expected);
    }
    assert.deepEqual(nixeryLayering(shuffled(graph, 5), { budget: Number.MAX_SAFE_INTEGER, popularity }), unlimited);
  });

  it('rejects a reference to a path missing from the closure', () => {
    const broken = closure(['app'], { app: [1, ['ghost']] });
    assert.throws(
      () => nixeryLayering(broken, { budget: 94, popularity: none }),
      new Error(`Expected the references of ${path('app')} to be paths of the closure, got ${path('ghost')}`),
    );
  });

  it('rejects a budget that is not a positive integer', () => {
    for (const budget of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => nixeryLayering(graph, { budget, popularity }),
        new RangeError(`Expected the layer budget to be a positive integer, got ${budget}`),
      );
    }
  });

  it('layers a 5,000-path closure quickly', () => {
    const big = randomClosure(5000, 9);
    const runs: number[] = [];
    let layers: LayerGroup[] = [];
    for (let run = 0; run < 9; run++) {
      const start = performance.now();
      layers = nixeryLayering(big.graph, { budget: 94, popularity: big.popularity });
      runs.push(performance.now() - start);
    }
    checkInvariants(big.graph, layers, 94);
    const median = [...runs].sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
    console.log(`nixeryLayering: 5,000 paths in ${median.toFixed(1)} ms (median of ${runs.length})`);
    assert.ok(median < 500, `Expected the median under 500 ms, got ${median.toFixed(1)} ms`);
  });
});
