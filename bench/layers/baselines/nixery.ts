/**
 * Nixery's layering, ported from `layers/layers.go` of Nixery (github.com/tazjin/nixery, where
 * google/nixery moved; commit 0d880c60; the same code as the earlier `server/layers/grouping.go`).
 * The budget comes from `builder/builder.go`, the popularity format from `popcount/popcount.go`.
 * Nixery's design doc "Improved Layering" (2019) explains the idea.
 *
 * 1. Build the runtime graph with a synthetic image root with an edge to every requested root.
 * 2. A path whose closure is big (closureSize > 100 MB) or whose package is popular (popularity
 *    >= 100) gets an extra edge from the image root: it is cut loose from its parents. Nixery
 *    read closureSize from Nix's exportReferencesGraph; here it is summed from the narSizes.
 * 3. Take the dominator tree from the image root. Each subtree under the image root is one layer.
 * 4. Merge rating of a layer = popularity of its top node x the sum of the closure sizes of its
 *    nodes (Nixery sums `closureSize`, not `narSize`; kept for faithfulness).
 * 5. Sort by merge rating ascending; while over budget, merge the first two (the merged layer
 *    stays first, unsorted). So the lowest-rated layers fold into one, the budget - 1 highest stay.
 *
 * Output order of `nixeryLayering` (layers.go's): the layer holding the merged tail first (or the
 * lowest-rated layer if nothing was merged), then the rest by merge rating ascending. Ties, which
 * Go's unstable sort.Slice left to map iteration order, break by the layers' first store path in
 * byte order. Ratings are exact (bigint) where Go used a wrapping uint64.
 *
 * The image Nixery serves orders them differently: `manifest/manifest.go` sorts the layers by merge
 * rating, highest first (the customisation layer, rated 0, comes last). `nixeryVariant` gives that
 * order (ties keep layers.go's order) and takes the popularity cutoff as a parameter, since 100 was
 * set for nixpkgs' own counts (glibc ~300,000), not for a smaller universe.
 */

import { closureSizes } from './closure-size.ts';
import { indexLayeringInput } from '../../../origin/layers/closure-index.ts';
import { dominatorTreeChildren, immediateDominators } from '../../../origin/layers/dominators.ts';
import { popularityKey } from '../../../origin/layers/popularity.ts';
import type { ClosureGraph, LayerGroup, LayeringAlgorithm, LayeringOptions, Popularity } from '../../../origin/layers/types.ts';

/** Nixery's layer budget (`builder.LayerBudget`): 125 layers at most, 94 used to leave room. */
export const NIXERY_LAYER_BUDGET = 94;
/** A path whose closure is larger than this (bytes) gets its own layer (`sizeThreshold`, 100 MB). */
export const HEAVY_CLOSURE_SIZE = 100 * 1_000_000;
/** A package referenced at least this often in nixpkgs gets its own layer. */
export const POPULAR_THRESHOLD = 100;
/** Popularity Nixery assigns to `nss-cacert` and `iana-etc`, which it adds to every image (glibc has ~300k). */
export const ALWAYS_INCLUDED_POPULARITY = 500_000;
/** Popularity of a package missing from the popularity file. */
export const DEFAULT_POPULARITY = 1;

interface Layer {
  nodes: number[];
  rating: bigint;
}

export interface NixeryVariant {
  /** A path whose package's popularity is at least this gets its own layer (Nixery: POPULAR_THRESHOLD). */
  popularThreshold: number;
  /** Layers in the order of Nixery's manifest (rating, highest first) instead of layers.go's. */
  manifestOrder: boolean;
}

/** Groups a closure into at most `budget` layers the way Nixery does (see the header). */
export const nixeryLayering: LayeringAlgorithm = (graph, options) =>
  groupLayers(graph, options, POPULAR_THRESHOLD).map(({ group }) => group);

/** Nixery's grouping with another popularity cutoff and/or its manifest's layer order (see the header). */
export function nixeryVariant(variant: NixeryVariant): LayeringAlgorithm {
  return (graph, options) => {
    const layers = groupLayers(graph, options, variant.popularThreshold);
    if (variant.manifestOrder) layers.sort((a, b) => (a.rating > b.rating ? -1 : a.rating < b.rating ? 1 : 0));
    return layers.map(({ group }) => group);
  };
}

/** layers.go's grouping (see the header), each layer with its merge rating, in layers.go's order. */
function groupLayers(graph: ClosureGraph, options: LayeringOptions, popularThreshold: number): { group: LayerGroup; rating: bigint }[] {
  const { budget } = options;
  const closure = indexLayeringInput(graph, budget);
  const n = closure.paths.length;
  if (n === 0) return [];

  const closureSize = closureSizes(closure.narSize, closure.references);
  const popularity = closure.paths.map((path) => packagePopularity(path, options.popularity));

  // Node n is the image root: edges to the requested roots and to every big or popular path.
  const imageRoot = n;
  const cutLoose = new Set(closure.roots);
  for (let node = 0; node < n; node++) {
    if (closureSize[node]! > HEAVY_CLOSURE_SIZE || popularity[node]! >= popularThreshold) cutLoose.add(node);
  }
  const successors: (readonly number[])[] = [...closure.references, [...cutLoose].sort((a, b) => a - b)];
  const children = dominatorTreeChildren(immediateDominators(successors, imageRoot));

  const layers: Layer[] = children[imageRoot]!.map((top) => {
    const nodes = [top];
    let size = 0;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      size += closureSize[node]!;
      for (const child of children[node]!) nodes.push(child);
    }
    nodes.sort((a, b) => a - b);
    return { nodes, rating: BigInt(popularity[top]!) * BigInt(size) };
  });
  // Node indices follow byte order of paths, so nodes[0] is the layer's first path.
  layers.sort((a, b) => (a.rating < b.rating ? -1 : a.rating > b.rating ? 1 : a.nodes[0]! - b.nodes[0]!));

  let kept = layers;
  if (layers.length > budget) {
    const tail = layers.slice(0, layers.length - budget + 1);
    const merged: Layer = {
      nodes: tail.flatMap((layer) => layer.nodes).sort((a, b) => a - b),
      rating: tail.reduce((sum, layer) => sum + layer.rating, 0n),
    };
    kept = [merged, ...layers.slice(layers.length - budget + 1)];
  }
  return kept.map((layer) => ({
    group: {
      storePaths: layer.nodes.map((node) => closure.paths[node]!),
      narSize: layer.nodes.reduce((sum, node) => sum + closure.narSize[node]!, 0),
    },
    rating: layer.rating,
  }));
}

/** A path's popularity: Nixery's fixed value for cacert and iana-etc, else the file's count, else 1. */
function packagePopularity(path: string, popularity: Popularity): number {
  const key = popularityKey(path);
  if (key.startsWith('nss-cacert') || key.startsWith('iana-etc')) return ALWAYS_INCLUDED_POPULARITY;
  return popularity.get(key) ?? DEFAULT_POPULARITY;
}
