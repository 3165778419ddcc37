/**
 * Layering: which store paths of an image's closure go into which layer. The builder calls
 * `defaultLayering`: the stable-units layering, measured against Nixery's and nixpkgs' layerings
 * (bench/layers/baselines/) by `npm run bench:layers`.
 */

import { stableLayering } from './stable.ts';
import type { LayeringAlgorithm } from './types.ts';

/** The layering the builder uses. */
export const defaultLayering: LayeringAlgorithm = stableLayering;

/** Its name in image cache keys: changing the default algorithm must not reuse old images. */
export const DEFAULT_LAYERING_NAME = 'stable-v3';
