import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { autoLayering } from './auto-layer.ts';
import { defaultLayering, nixeryLayering } from './index.ts';
import { popularityContestLayering } from './popularity-contest.ts';
import { stableLayering } from './stable.ts';
import { checkInvariants, closure, names, randomClosure, shuffled } from './test-graphs.ts';
import type { LayerGroup, LayeringAlgorithm, Popularity } from './types.ts';

const none: Popularity = new Map();
const KB = 1000;

describe('popularityContestLayering (nixpkgs referencesByPopularity)', () => {
  // closure-graph.py's own example: A1 B2 C3 D4 E5 F9 G2.
  const graph = closure(['A'], { A: [1, ['B', 'G']], B: [1, ['C', 'E']], C: [1, ['D', 'E']], D: [1, ['F']], E: [1, ['F']], F: [1, []], G: [1, []] });
  it('orders paths by the contest, ties by name, one layer each', () => {
    assert.deepEqual(names(popularityContestLayering(graph, { budget: 94, popularity: none })), [['F'], ['E'], ['D'], ['C'], ['B'], ['G'], ['A']]);
  });
  it('puts the rest in the last layer past budget - 1', () => {
    assert.deepEqual(names(popularityContestLayering(graph, { budget: 3, popularity: none })), [['F'], ['E'], ['A', 'B', 'C', 'D', 'G']]);
  });
});

describe('autoLayering (nixpkgs auto-layer.py)', () => {
  const graph = closure(['app'], { app: [10, ['big', 'small']], big: [100, ['lib']], small: [1, ['lib']], lib: [5, []] });
  it('gives each large path a layer with the dependencies only it uses', () => {
    assert.deepEqual(names(autoLayering(graph, { budget: 94, popularity: none })), [['lib'], ['small'], ['big'], ['app']]);
    assert.deepEqual(names(autoLayering(graph, { budget: 2, popularity: none })), [['big', 'lib'], ['app', 'small']]);
    assert.deepEqual(names(autoLayering(graph, { budget: 1, popularity: none })), [['app', 'big', 'lib', 'small']]);
  });
});

describe('stableLayering (ours)', () => {
  const graph = closure(['app1', 'app2'], {
    app1: [1000 * KB, ['priv1', 'shared']],
    app2: [1000 * KB, ['shared']],
    shared: [2000 * KB, ['libc']],
    libc: [400 * KB, []],
    priv1: [500 * KB, ['tiny']],
    tiny: [10 * KB, []],
  });
  it('makes a layer per unit (anchor + what only it reaches), most shared first', () => {
    assert.deepEqual(names(stableLayering(graph, { budget: 94, popularity: none })), [['shared'], ['libc'], ['priv1', 'tiny'], ['app1'], ['app2']]);
  });
  it('keeps the highest-priority units and puts the rest in the tail, last', () => {
    assert.deepEqual(names(stableLayering(graph, { budget: 3, popularity: none })), [['shared'], ['app1'], ['app2', 'libc', 'priv1', 'tiny']]);
  });
  it('orders by the popularity file when given one', () => {
    const layers = names(stableLayering(graph, { budget: 94, popularity: new Map([['app2', 100]]) }));
    assert.deepEqual(layers, [['app2'], ['app1'], ['libc'], ['priv1', 'tiny'], ['shared']]);
  });
  it('puts a unit under 300 kB of nar in the tail instead of a tiny layer', () => {
    const small = closure(['app', 'cfg'], { app: [900 * KB, []], cfg: [5 * KB, []] });
    assert.deepEqual(names(stableLayering(small, { budget: 94, popularity: none })), [['app'], ['cfg']]);
  });
  it('is the default layering', () => {
    assert.equal(defaultLayering, stableLayering);
  });
});

const algorithms: [string, LayeringAlgorithm][] = [
  ['stable', stableLayering],
  ['popularity contest', popularityContestLayering],
  ['auto-layer', autoLayering],
  ['nixery', nixeryLayering],
];

for (const [name, algorithm] of algorithms) {
  describe(`${name}: invariants`, () => {
    const { graph, popularity } = randomClosure(name === 'popularity contest' ? 600 : 1500, 1);
    for (const budget of [1, 2, 5, 94]) {
      it(`puts every path in exactly one of at most ${budget} layers`, () => {
        checkInvariants(graph, algorithm(graph, { budget, popularity }), budget);
        checkInvariants(graph, algorithm(graph, { budget, popularity: none }), budget);
      });
    }
    it('gives the same layers for any order of paths, references and roots', () => {
      const expected = algorithm(graph, { budget: 94, popularity });
      for (const seed of [2, 3]) assert.deepEqual(algorithm(shuffled(graph, seed), { budget: 94, popularity }), expected);
    });
    it('returns no layers for an empty closure and rejects a bad budget', () => {
      assert.deepEqual(algorithm({ roots: [], paths: [] }, { budget: 1, popularity: none }), []);
      assert.throws(() => algorithm(graph, { budget: 0, popularity }), RangeError);
    });
  });
}

describe('stableLayering: speed', () => {
  // The 50 ms goal is measured by `npm run bench:layers` (p95 over 20 closures of 5,000+ paths);
  // this only guards against an order-of-magnitude regression on a shared, noisy machine.
  it('layers a 5,000-path closure well within a second', () => {
    const big = randomClosure(5000, 9);
    const runs: number[] = [];
    let layers: LayerGroup[] = [];
    for (let run = 0; run < 20; run++) {
      const start = performance.now();
      layers = stableLayering(big.graph, { budget: 94, popularity: big.popularity });
      runs.push(performance.now() - start);
    }
    checkInvariants(big.graph, layers, 94);
    const p95 = [...runs].sort((a, b) => a - b)[18]!;
    assert.ok(p95 < 500, `Expected p95 under 500 ms, got ${p95.toFixed(1)} ms`);
  });
});
