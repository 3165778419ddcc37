/**
 * Layering: which store paths of an image's closure go into which layer. The builder calls
 * `defaultLayering`: the stable-units layering, which beats Nixery's on `npm run bench:layers`.
 */

import { stableLayering } from './stable.ts';
import type { LayeringAlgorithm } from './types.ts';

/** The layering the builder uses. */
export const defaultLayering: LayeringAlgorithm = stableLayering;

/** Its name in image cache keys: changing the default algorithm must not reuse old images. */
export const DEFAULT_LAYERING_NAME = 'stable-v2';

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
export { stableLayering, ANCHOR_NAR_SIZE, MIN_LAYER_NAR_SIZE, SHARED_POPULARITY, TAIL_BUCKETS } from './stable.ts';
export { popularityContestLayering } from './popularity-contest.ts';
export { autoLayering } from './auto-layer.ts';
