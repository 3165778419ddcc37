/**
 * The contract between the builder and a layering algorithm: a runtime closure in, at most
 * `budget` groups of store paths out. Any algorithm is a pure, deterministic function of its input.
 */

/** One store path of a closure, as `nix path-info --json` reports it. */
export interface StorePathInfo {
  path: string;
  narSize: number;
  references: string[];
}

/** A runtime closure: the requested packages' out paths (roots) and every path they reach. */
export interface ClosureGraph {
  roots: readonly string[];
  paths: readonly StorePathInfo[];
}

/** How often each package appears across many images (Nixery's popularity file), by store-path name. */
export type Popularity = ReadonlyMap<string, number>;

/** One layer: a set of store paths (sorted by byte order) and their total nar size. */
export interface LayerGroup {
  storePaths: string[];
  narSize: number;
}

export interface LayeringOptions {
  budget: number;
  popularity: Popularity;
}

/** A layering algorithm: a pure, deterministic function from a closure to at most `budget` layers. */
export type LayeringAlgorithm = (graph: ClosureGraph, options: LayeringOptions) => LayerGroup[];
