/**
 * Layering: which store paths of an image's closure go into which layer. The builder calls
 * `defaultLayering`; the seam lets another algorithm replace Nixery's without touching callers.
 */

import { nixeryLayering } from './nixery.ts';
import type { LayeringAlgorithm } from './types.ts';

/** The layering the builder uses. */
export const defaultLayering: LayeringAlgorithm = nixeryLayering;

export type { ClosureGraph, LayerGroup, LayeringAlgorithm, LayeringOptions, Popularity, StorePathInfo } from './types.ts';
export {
  nixeryLayering,
  NIXERY_LAYER_BUDGET,
  HEAVY_CLOSURE_SIZE,
  POPULAR_THRESHOLD,
  ALWAYS_INCLUDED_POPULARITY,
  DEFAULT_POPULARITY,
} from './nixery.ts';
export { parsePopularity, popularityKey } from './popularity.ts';
export { compareByteOrder } from './byte-order.ts';
