/**
 * nixedge's default layering ("stable units"): layers whose contents are the same in every image
 * that holds them, so a client downloads each once and a channel bump touches few of them.
 *
 * 1. Anchors: the requested roots, every path that other packages share (2+ referrers across the
 *    channel: popcount's count >= 3, as it counts the path's own reference; or referenced twice
 *    within this closure), and every path of at least `anchorNarSize` (big enough for a layer of its
 *    own; size stands in for sharing, auto-layer's insight).
 * 2. A unit is an anchor plus the paths only it reaches: the anchor's subtree in the dominator tree
 *    from an image root with an edge to every anchor. With the popularity file, a path private in
 *    the channel (one referrer) always travels with that referrer, so a unit is the same set of
 *    paths in every image. Without it, which paths only an anchor reaches depends on the image, so
 *    a big anchor is kept apart from the paths it dominates (they form a unit of their own): its
 *    layer is then the same in every image, and only the small part varies.
 * 3. Units of at least `minLayerNarSize` get their own layer by priority (bytes x log popularity,
 *    what sharing saves), up to the budget less the tail's buckets; everything else (small units,
 *    unpopular paths shared by two units, units past the budget) is the image's tail, split by
 *    stability so that a bump re-sends the volatile part, not the stable one. A path changes when
 *    any package of its closure changes; nixpkgs holds changes that rebuild many packages for
 *    staging, so popular packages change in few bumps: a path's volatility is the sum over its
 *    closure of h / (h - 1 + popularity) (h = `volatilityHalf`: 1 for an unreferenced package, 1/2
 *    from h referrers on), about how many of its packages can change in any bump. Buckets are fixed
 *    log2 bounds of it (`stabilityLevels`), the same in every image; a bucket too small for a
 *    layer of its own joins the next, more volatile one.
 * 4. Order (docker's chain IDs reward a common prefix): most popular first, then by name; the
 *    image-specific tail last. Without popularity data the closure's in-degree stands in for it.
 *
 * `STABLE_PARAMETERS` were chosen with `npm run bench:layers -- --sweep` on the benchmark's tuning
 * universes (see the README's layering section for the figures).
 */

import { indexLayeringInput } from './closure-index.ts';
import { dominatorTreeChildren, immediateDominators } from './dominators.ts';
import { popularityKey } from './popularity.ts';
import type { ClosureGraph, LayerGroup, LayeringAlgorithm, LayeringOptions, Popularity } from './types.ts';

/** The thresholds of the layering (see the header); `STABLE_PARAMETERS` are the ones the builder uses. */
export interface StableParameters {
  /** A path at least this big (nar bytes) is an anchor of its own, shared or not. */
  anchorNarSize: number;
  /** A unit or tail bucket smaller than this (nar bytes; ~120 kB compressed) gets no layer of its own. */
  minLayerNarSize: number;
  /** Popularity-file count (1 + referrers, popcount's) from which a path counts as shared. */
  sharedPopularity: number;
  /** Upper bounds (log2 of a path's volatility) of the tail's buckets, stable first. */
  stabilityLevels: readonly number[];
  /** The popularity from which a package counts half towards volatility (see the header). */
  volatilityHalf: number;
}

export const STABLE_PARAMETERS: StableParameters = {
  anchorNarSize: 300_000,
  minLayerNarSize: 300_000,
  sharedPopularity: 3,
  stabilityLevels: [0.5, 1.25, 2, 2.75, 3.5, 4.25, 5],
  volatilityHalf: 8,
};

/** Popularity given to nss-cacert and iana-etc, which every image holds. */
const EVERYWHERE = 1_000_000;

interface Unit {
  nodes: number[];
  top: number;
  priority: number;
}

/** Groups a closure into at most `budget` layers of stable units (see the header). */
export const stableLayering: LayeringAlgorithm = (graph, options) => layerStably(graph, options, STABLE_PARAMETERS);

/** The layering with other thresholds (the benchmark's sweep). */
export function stableLayeringWith(parameters: StableParameters): LayeringAlgorithm {
  return (graph, options) => layerStably(graph, options, parameters);
}

/** The layering itself (see the header). */
function layerStably(graph: ClosureGraph, options: LayeringOptions, parameters: StableParameters): LayerGroup[] {
  const { budget } = options;
  const { anchorNarSize, minLayerNarSize, sharedPopularity, stabilityLevels: levelBounds, volatilityHalf } = parameters;
  const tailBuckets = levelBounds.length + 1;
  const closure = indexLayeringInput(graph, budget);
  const n = closure.paths.length;
  if (n === 0) return [];

  const inDegree = new Int32Array(n);
  for (const targets of closure.references) for (const target of targets) inDegree[target]! += 1;
  const lookup = popularityLookup(options.popularity);
  const keys = closure.paths.map(popularityKey);
  const popularity = keys.map((key, node) => lookup(key) ?? inDegree[node]! + 1);
  const sizeOf = (nodes: readonly number[]): number => nodes.reduce((sum, node) => sum + closure.narSize[node]!, 0);

  // Node n is the image root, with an edge to every anchor; each of its dominator subtrees is a unit.
  const isRoot = new Uint8Array(n);
  for (const root of closure.roots) isRoot[root] = 1;
  const anchors: number[] = [];
  for (let node = 0; node < n; node++) {
    const shared = popularity[node]! >= sharedPopularity || inDegree[node]! >= 2;
    if (isRoot[node] === 1 || shared || closure.narSize[node]! >= anchorNarSize) anchors.push(node);
  }
  const children = dominatorTreeChildren(immediateDominators([...closure.references, anchors], n));

  const units: Unit[] = [];
  const tail: number[] = [];
  const addUnit = (nodes: number[], top: number): void => {
    const narSize = sizeOf(nodes);
    if (narSize < minLayerNarSize) tail.push(...nodes);
    else units.push({ nodes, top, priority: narSize * Math.log2(2 + popularity[top]!) });
  };
  const apart = options.popularity.size === 0;
  for (const top of children[n]!) {
    const nodes = [top];
    for (let i = 0; i < nodes.length; i++) for (const child of children[nodes[i]!]!) nodes.push(child);
    if (apart && nodes.length > 1 && closure.narSize[top]! >= anchorNarSize) {
      addUnit([top], top);
      addUnit(nodes.slice(1), nodes[1]!);
    } else addUnit(nodes, top);
  }
  units.sort((a, b) => b.priority - a.priority || compareNames(keys, a.top, b.top));
  const own =
    tail.length === 0 && units.length <= budget
      ? units.length
      : Math.min(units.length, budget - 1, Math.max(budget - tailBuckets, Math.ceil(budget / 2)));
  for (const unit of units.slice(own)) tail.push(...unit.nodes);
  const kept = units.slice(0, own);
  kept.sort((a, b) => popularity[b.top]! - popularity[a.top]! || compareNames(keys, a.top, b.top));

  const layers = kept.map((unit) => unit.nodes);
  const buckets = Math.max(1, Math.min(tailBuckets, budget - layers.length));
  const tails: number[][] = Array.from({ length: buckets }, () => []);
  const levels = stabilityLevels(closure.references, popularity, tail, levelBounds, volatilityHalf);
  tail.forEach((node, i) => tails[Math.min(buckets - 1, Math.floor((levels[i]! * buckets) / tailBuckets))]!.push(node));
  layers.push(...mergeSmallBuckets(tails, sizeOf, minLayerNarSize));
  return layers.map((nodes): LayerGroup => {
    const sorted = [...nodes].sort((a, b) => a - b);
    return { storePaths: sorted.map((node) => closure.paths[node]!), narSize: sizeOf(sorted) };
  });
}

/** The tail's buckets, stable first, each too small for a layer of its own joined to the next (the last to the one before). */
function mergeSmallBuckets(buckets: readonly number[][], sizeOf: (nodes: readonly number[]) => number, minLayerNarSize: number): number[][] {
  const kept: number[][] = [];
  let carry: number[] = [];
  for (const bucket of buckets) {
    carry = carry.concat(bucket);
    if (carry.length > 0 && sizeOf(carry) >= minLayerNarSize) {
      kept.push(carry);
      carry = [];
    }
  }
  if (carry.length > 0) {
    if (kept.length > 0) kept[kept.length - 1] = kept[kept.length - 1]!.concat(carry);
    else kept.push(carry);
  }
  return kept;
}

/**
 * The stability level (0 = most stable .. levelBounds.length) of each of `nodes`: log2 of the sum of
 * h / (h - 1 + popularity) over its closure, searched only until it passes the last level's bound.
 */
function stabilityLevels(
  references: readonly (readonly number[])[],
  popularity: readonly number[],
  nodes: readonly number[],
  levelBounds: readonly number[],
  volatilityHalf: number,
): number[] {
  const bound = 2 ** levelBounds.at(-1)!;
  const h = volatilityHalf;
  const weight = (popularity: number): number => (Number.isFinite(h) ? h / (h - 1 + popularity) : 1);
  const seen = new Int32Array(references.length);
  // A node whose own closure passed the bound makes every node that reaches it pass it too.
  const volatile = new Uint8Array(references.length);
  const stack: number[] = [];
  return nodes.map((start, i) => {
    const stamp = i + 1;
    let instability = 0;
    seen[start] = stamp;
    stack.length = 0;
    stack.push(start);
    while (stack.length > 0 && instability < bound) {
      const node = stack.pop()!;
      if (volatile[node] === 1) instability = bound;
      instability += weight(popularity[node]!);
      for (const target of references[node]!) {
        if (seen[target] !== stamp) {
          seen[target] = stamp;
          stack.push(target);
        }
      }
    }
    if (instability >= bound) volatile[start] = 1;
    const log = Math.log2(instability);
    let level = 0;
    while (level < levelBounds.length && log >= levelBounds[level]!) level++;
    return level;
  });
}

/** Orders two nodes by package name (without hash), then by index (byte order of the path). */
function compareNames(keys: readonly string[], a: number, b: number): number {
  const x = keys[a]!;
  const y = keys[b]!;
  return x < y ? -1 : x > y ? 1 : a - b;
}

/**
 * A path's popularity (by its name, `popularityKey`) from Nixery's file: the exact name (with version), else the highest count of
 * any version of the same package (a channel bump renames what it updates), nss-cacert and
 * iana-etc everywhere; undefined without a file (then the closure's in-degree counts).
 */
function popularityLookup(popularity: Popularity): (key: string) => number | undefined {
  if (popularity.size === 0) return (key) => (isEverywhere(key) ? EVERYWHERE : undefined);
  const byPackage = packageCounts(popularity);
  return (key) => {
    if (isEverywhere(key)) return EVERYWHERE;
    return popularity.get(key) ?? byPackage.get(packageName(key)) ?? 1;
  };
}

const packageCountsCache = new WeakMap<Popularity, Map<string, number>>();

/** The highest count of each package over its versions; cached per popularity map (immutable data). */
function packageCounts(popularity: Popularity): Map<string, number> {
  const cached = packageCountsCache.get(popularity);
  if (cached !== undefined) return cached;
  const byPackage = new Map<string, number>();
  for (const [name, count] of popularity) {
    const pname = packageName(name);
    byPackage.set(pname, Math.max(byPackage.get(pname) ?? 0, count));
  }
  packageCountsCache.set(popularity, byPackage);
  return byPackage;
}

/** Whether a package is one every image holds (Nixery adds both to each image). */
function isEverywhere(key: string): boolean {
  return key.startsWith('nss-cacert') || key.startsWith('iana-etc');
}

/** A package name without its version: up to the first `-` before a digit (Nix's parseDrvName), plus an output suffix. */
export function packageName(name: string): string {
  const match = /-[0-9]/.exec(name);
  if (match === null) return name;
  const output = /-(bin|dev|lib|out|man|doc)$/.exec(name);
  return name.slice(0, match.index) + (output === null ? '' : output[0]);
}
