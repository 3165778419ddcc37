/** Helpers shared by the layering algorithms' tests: small named closures, random ones, invariants. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareByteOrder } from './byte-order.ts';
import type { ClosureGraph, LayerGroup, LayeringAlgorithm, Popularity, StorePathInfo } from './types.ts';

const HASH = '0123456789abcdfghijklmnpqrsvwxyz';
/** A store path for a name. */
export const path = (name: string): string => `/nix/store/${HASH}-${name}`;

/** A closure from `name: [narSize, references]`, names standing for store paths. */
export function closure(roots: string[], spec: Record<string, [number, string[]]>): ClosureGraph {
  return {
    roots: roots.map(path),
    paths: Object.entries(spec).map(([name, [narSize, references]]) => ({ path: path(name), narSize, references: [path(name), ...references.map(path)] })),
  };
}

/** Layers as lists of names, for readable expectations. */
export function names(layers: LayerGroup[]): string[][] {
  return layers.map((layer) => layer.storePaths.map((storePath) => storePath.slice(path('').length)));
}

/** A seeded [0, 1) stream (LCG). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** A seeded shuffle. */
function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/** A random DAG closure of `size` paths with a few heavy ones and some popular names. */
export function randomClosure(size: number, seed: number): { graph: ClosureGraph; popularity: Popularity } {
  const random = seededRandom(seed);
  const name = (i: number): string => `pkg${i}-1.${i % 7}`;
  const referenced = new Uint8Array(size);
  const paths: StorePathInfo[] = [];
  for (let i = 0; i < size; i++) {
    const references = new Set<string>([path(name(i))]);
    const count = i + 1 < size ? Math.floor(random() * 5) : 0;
    for (let k = 0; k < count; k++) {
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
export function shuffled(graph: ClosureGraph, seed: number): ClosureGraph {
  const random = seededRandom(seed);
  return {
    roots: shuffle(graph.roots, random),
    paths: shuffle(graph.paths, random).map((info) => ({ ...info, references: shuffle(info.references, random) })),
  };
}

/** Asserts the contract: at most `budget` non-empty layers, paths in byte order, each path exactly once. */
export function checkInvariants(graph: ClosureGraph, layers: LayerGroup[], budget: number): void {
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

/**
 * The contract every layering algorithm must keep, as one suite each algorithm's tests run: budgets
 * respected, every path placed once, independence of input order, empty input and bad budgets.
 */
export function describeInvariants(name: string, algorithm: LayeringAlgorithm, size = 1500): void {
  const none: Popularity = new Map();
  describe(`${name}: invariants`, () => {
    const { graph, popularity } = randomClosure(size, 1);
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
