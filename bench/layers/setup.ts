/** The benchmark's inputs for one universe: its structure, epochs, images and popularity file. */

import { channelBumps, legacyBumps } from './bumps.ts';
import { generateImages, generateUniverse, largeImages, universePopularity } from './universe.ts';
import type { Epoch, ImageSpec, Universe } from './universe.ts';
import type { UniverseSpec } from './universes.ts';

export const LARGE_IMAGES = 20;
export const LARGE_PATHS = 5000;
/** nixedge's and Nixery's budget: 94 store-path layers, 95 with the customisation layer. */
export const BUDGET = 94;
/** nixpkgs' budget (`maxLayers ? 100`, one taken by the customisation layer): 99 store-path layers. */
export const NIXPKGS_BUDGET = 99;

export interface Bench {
  spec: UniverseSpec;
  universe: Universe;
  epochs: Epoch[];
  images: ImageSpec[];
  popularity: Map<string, number>;
}

/** Generates a universe's structure, epochs, images and popularity (deterministic). */
export function setUp(spec: UniverseSpec): Bench {
  const seed = spec.universe.seed;
  const universe = generateUniverse(spec.universe);
  const epochs =
    spec.role === 'legacy'
      ? legacyBumps(universe, spec.bumps.bumps, spec.bumps.share, seed + 1)
      : channelBumps(universe, { ...spec.bumps, seed: seed + 1 });
  const images = generateImages(universe, spec.images, seed + 2);
  return { spec, universe, epochs, images, popularity: universePopularity(universe, epochs[0]!) };
}

/** Images with closures of at least LARGE_PATHS paths, for timing. */
export function timingImages(bench: Bench): ImageSpec[] {
  return largeImages(bench.universe, LARGE_IMAGES, LARGE_PATHS, bench.spec.universe.seed + 3);
}
