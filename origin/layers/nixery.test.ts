import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareByteOrder } from './byte-order.ts';
import { NIXERY_LAYER_BUDGET, nixeryLayering } from './nixery.ts';
import type { ClosureGraph, LayerGroup, Popularity, StorePathInfo } from './types.ts';

const HASH = '0123456789abcdfghijklmnpqrsvwxyz';
const path = (name: string): string => `/nix/store/${HASH}-${name}`;
const none: Popularity = new Map();

/** A closure from `name: [narSize, references]`, names standing for store paths. */
function closure(roots: string[], spec: Record<string, [number, string[]]>): ClosureGraph {
  return {
    roots: roots.map(path),
    paths: Object.entries(spec).map(([name, [narSize, references]]) => ({
      path: path(name),
      narSize,
      references: [path(name), ...references.map(path)],
    })),
  };
}

/** Layers as lists of names, for readable expectations. */
function names(layers: LayerGroup[]): string[][] {
  return layers.map((layer) => layer.storePaths.map((storePath) => storePath.slice(path('').length)));
}

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/**
 * A random runtime closure: a DAG where each path references a few later ones, roots are the paths
 * nobody references plus a few more, sizes up to 5 MB with a few heavy ones, some popular names.
 */
function randomClosure(size: number, seed: number): { graph: ClosureGraph; popularity: Popularity } {
  const random = seededRandom(seed);
  const name = (i: number): string => `pkg${i}-1.${i % 7}`;
  const referenced = new Uint8Array(size);
  const paths: StorePathInfo[] = [];
  for (let i = 0; i < size; i++) {
    const references = new Set<string>([path(name(i))]);
    const count = i + 1 < size ? Math.floor(random() * 5) : 0;
    for (let k = 0; k < count; k++) {
      // Mostly near neighbours (packages and their libraries), sometimes anything later.
      const span = random() < 0.8 ? Math.min(50, size - i - 1) : size - i - 1;
      const target = i + 1 + Math.floor(random() * span);
      referenced[target] = 1;
      references.add(path(name(target)));
    }
    const heavy = random() < 0.005;
    paths.push({ path: path(name(i)), narSize: heavy ? 150_000_000 : Math.floor(random() * 5_000_000), references: [...references] });
  }
  const roots = paths.filter((_, i) => referenced[i] === 0 || random() < 0.01).map((info) => info.path);
  const popularity = new Map<string, number>();
  for (let i = 0; i < size; i++) if (random() < 0.1) popularity.set(name(i), 2 + Math.floor(random() * 1000));
  return { graph: { roots, paths }, popularity };
}

/** The same closure with every list in another order. */
function shuffled(graph: ClosureGraph, seed: number): ClosureGraph {
  const random = seededRandom(seed);
  return {
    roots: shuffle(graph.roots, random),
    paths: shuffle(graph.paths, random).map((info) => ({ ...info, references: shuffle(info.references, random) })),
  };
}

function checkInvariants(graph: ClosureGraph, layers: LayerGroup[], budget: number): void {
  assert.ok(layers.length <= budget, `Expected at most ${budget} layers, got ${layers.length}`);
  const sizes = new Map(graph.paths.map((info) => [info.path, info.narSize]));
  const placed = new Map<string, number>();
  layers.forEach((layer, i) => {
    assert.ok(layer.storePaths.length > 0, 'Expected no empty layer');
    assert.deepEqual(layer.storePaths, [...layer.storePaths].sort(compareByteOrder), 'Expected paths in byte order');
    assert.equal(layer.narSize, layer.storePaths.reduce((sum, storePath) => sum + sizes.get(storePath)!, 0));
    for (const storePath of layer.storePaths) {
      assert.equal(placed.get(storePath), undefined, `Expected ${storePath} in one layer, got layers ${placed.get(storePath)} and ${i}`);
      placed.set(storePath, i);
    }
  });
  assert.equal(placed.size, graph.paths.length, 'Expected every path of the closure in a layer');
}

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
