/** The benchmark's fixed inputs: one seeded universe, its epochs, images and popularity file. */

import { DEFAULT_UNIVERSE, generateEpochs, generateImages, generateUniverse, largeImages, universePopularity } from './universe.ts';
import type { Epoch, ImageSpec, Universe } from './universe.ts';

export const IMAGES = 200;
export const BUMPS = 4;
export const BUMP_SHARE = 0.03;
export const LARGE_IMAGES = 20;
export const LARGE_PATHS = 5000;
/** 95 layers per image including the customisation layer. */
export const BUDGET = 94;

export interface Bench {
  universe: Universe;
  epochs: Epoch[];
  images: ImageSpec[];
  popularity: Map<string, number>;
}

/** Generates the benchmark's universe, epochs, images and popularity (deterministic). */
export function setUp(): Bench {
  const universe = generateUniverse(DEFAULT_UNIVERSE);
  const epochs = generateEpochs(universe, BUMPS, BUMP_SHARE, DEFAULT_UNIVERSE.seed + 1);
  const images = generateImages(universe, IMAGES, DEFAULT_UNIVERSE.seed + 2);
  return { universe, epochs, images, popularity: universePopularity(universe, epochs[0]!) };
}

/** Images with closures of at least 5,000 paths, for timing. */
export function timingImages(universe: Universe): ImageSpec[] {
  return largeImages(universe, LARGE_IMAGES, LARGE_PATHS, DEFAULT_UNIVERSE.seed + 3);
}
