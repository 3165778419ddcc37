/**
 * nixedge's default layering ("stable units"): layers whose contents are the same in every image
 * that holds them, so a client downloads each once and a channel bump touches few of them.
 *
 * 1. Anchors: the requested roots, every path that other packages share (2+ referrers across the
 *    channel in Nixery's popularity file, or referenced twice within this closure), and every path
 *    of at least ANCHOR_NAR_SIZE (size stands in for sharing, auto-layer's insight, and a big path
 *    apart is a big path not re-sent when its parent is rebuilt).
 * 2. A unit is an anchor plus the paths only it reaches: the anchor's subtree in the dominator tree
 *    from an image root with an edge to every anchor. A path that is private in the channel (one
 *    referrer) always travels with that referrer, so a unit is the same set of paths in every image.
 * 3. Units of at least MIN_LAYER_NAR_SIZE get their own layer by priority (bytes x log popularity,
 *    what sharing saves), up to the budget less TAIL_BUCKETS; everything else (small units, unpopular
 *    paths shared by two units, units past the budget) is the image's tail, split into up to
 *    TAIL_BUCKETS layers by stability so that a bump re-sends the volatile part, not the stable one:
 *    a path rehashes when anything in its closure changes, and unpopular packages change most often
 *    (popular ones batch up in staging), so a path's volatility is the sum of 8 / (7 + popularity)
 *    over its closure, bucketed by fixed log2 thresholds (STABILITY_LEVELS), the same in every image.
 * 4. Order (docker's chain IDs reward a common prefix): most popular first, then by name; the
 *    image-specific tail last. Without popularity data the closure's in-degree stands in for it.
 */

import { indexLayeringInput } from './closure-index.ts';
import { dominatorTreeChildren, immediateDominators } from './dominators.ts';
import { popularityKey } from './popularity.ts';
import type { LayerGroup, LayeringAlgorithm, Popularity } from './types.ts';

/** A path at least this big (nar bytes) is an anchor of its own, shared or not. */
export const ANCHOR_NAR_SIZE = 300_000;
/** A unit smaller than this (nar bytes, ~100 kB compressed) does not get a layer of its own. */
export const MIN_LAYER_NAR_SIZE = 300_000;
/** Popularity-file count (1 + referrers, popcount's) from which a path counts as shared. */
export const SHARED_POPULARITY = 3;
/** Upper bounds (log2 of the closure's summed instability) of the tail's stability levels, stable first. */
export const STABILITY_LEVELS: readonly number[] = [0.25, 0.75, 1.25, 1.75, 2.25];
/** The tail is split into at most this many layers, one per stability level. */
export const TAIL_BUCKETS = STABILITY_LEVELS.length + 1;
/** Popularity given to nss-cacert and iana-etc, which every image holds. */
const EVERYWHERE = 1_000_000;

interface Unit {
  nodes: number[];
  top: number;
  priority: number;
}

/** Groups a closure into at most `budget` layers of stable units (see the header). */
export const stableLayering: LayeringAlgorithm = (graph, options) => {
  const { budget } = options;
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
    const shared = popularity[node]! >= SHARED_POPULARITY || inDegree[node]! >= 2;
    if (isRoot[node] === 1 || shared || closure.narSize[node]! >= ANCHOR_NAR_SIZE) anchors.push(node);
  }
  const children = dominatorTreeChildren(immediateDominators([...closure.references, anchors], n));

  const units: Unit[] = [];
  const tail: number[] = [];
  for (const top of children[n]!) {
    const nodes = [top];
    for (let i = 0; i < nodes.length; i++) for (const child of children[nodes[i]!]!) nodes.push(child);
    const narSize = sizeOf(nodes);
    if (narSize < MIN_LAYER_NAR_SIZE) tail.push(...nodes);
    else units.push({ nodes, top, priority: narSize * Math.log2(2 + popularity[top]!) });
  }
  units.sort((a, b) => b.priority - a.priority || compareNames(keys, a.top, b.top));
  const own =
    tail.length === 0 && units.length <= budget
      ? units.length
      : Math.min(units.length, budget - 1, Math.max(budget - TAIL_BUCKETS, Math.ceil(budget / 2)));
  for (const unit of units.slice(own)) tail.push(...unit.nodes);
  const kept = units.slice(0, own);
  kept.sort((a, b) => popularity[b.top]! - popularity[a.top]! || compareNames(keys, a.top, b.top));

  const layers = kept.map((unit) => unit.nodes);
  const buckets = Math.max(1, Math.min(TAIL_BUCKETS, budget - layers.length));
  const tails: number[][] = Array.from({ length: buckets }, () => []);
  const levels = stabilityLevels(closure.references, popularity, tail);
  tail.forEach((node, i) => tails[Math.min(buckets - 1, Math.floor((levels[i]! * buckets) / TAIL_BUCKETS))]!.push(node));
  for (const bucket of tails) if (bucket.length > 0) layers.push(bucket);
  return layers.map((nodes): LayerGroup => {
    const sorted = [...nodes].sort((a, b) => a - b);
    return { storePaths: sorted.map((node) => closure.paths[node]!), narSize: sizeOf(sorted) };
  });
};

/**
 * The stability level (0 = most stable .. STABILITY_LEVELS.length) of each of `nodes`: log2 of the sum
 * of 8 / (7 + popularity) over its closure, searched only until it passes the last level's bound.
 */
function stabilityLevels(references: readonly (readonly number[])[], popularity: readonly number[], nodes: readonly number[]): number[] {
  const bound = 2 ** STABILITY_LEVELS.at(-1)!;
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
      instability += 8 / (7 + popularity[node]!);
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
    while (level < STABILITY_LEVELS.length && log >= STABILITY_LEVELS[level]!) level++;
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
