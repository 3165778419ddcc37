/**
 * The universes the benchmark runs on, fixed before any tuning of the layering. U0 is the universe
 * of the previous benchmark (seed 20240601) under the new change process. U1..U9 are a Latin
 * hypercube over what nixpkgs plausibly looks like: each parameter takes 9 evenly spaced values
 * across its range, both ends included, in an order shuffled with a fixed seed (15, the issue's
 * number), so no combination was picked by hand.
 *
 * Roles, decided with the table and before tuning: U0..U4 are the universes thresholds may be
 * tuned on; U5..U9 are held out and only run to check the tuned algorithm.
 */

import type { BumpOptions } from './bumps.ts';
import { seeded, shuffle } from './random.ts';
import { DEFAULT_UNIVERSE, type UniverseOptions } from './universe.ts';

export interface UniverseSpec {
  /** U0, U1, ...; `legacy` for the previous benchmark's setup. */
  name: string;
  role: 'tuning' | 'held out' | 'legacy';
  universe: UniverseOptions;
  bumps: Omit<BumpOptions, 'seed'>;
  images: number;
}

/** Channel bumps per universe (epochs 1..BUMPS after epoch 0). */
export const BUMPS = 4;

/** The ranges the hypercube spans: [low, high], and whether values are spaced on a log scale. */
const RANGES = {
  splitShare: [0.05, 0.4, false],
  core: [1200, 2200, false],
  apps: [1500, 4000, false],
  langpkgs: [2000, 7000, false],
  sizeScale: [0.25, 4, true],
  share: [0.02, 0.08, false],
  activitySigma: [0.5, 1.5, false],
  stagingMerge: [0.15, 0.35, false],
  images: [150, 400, false],
} as const;

const SAMPLED = 9;

/** The previous default universe, under the new change process (3% updated per bump). */
const U0: UniverseSpec = {
  name: 'U0',
  role: 'tuning',
  universe: DEFAULT_UNIVERSE,
  bumps: { bumps: BUMPS, share: 0.03, activitySigma: 1, stagingMerge: 0.25 },
  images: 200,
};

/** U0 and the nine sampled universes (see the header). */
export const UNIVERSES: readonly UniverseSpec[] = [U0, ...sampledUniverses()];

/** The previous benchmark exactly: U0 with the legacy change rule (bumps.ts `legacyBumps`). */
export const LEGACY: UniverseSpec = { ...U0, name: 'legacy', role: 'legacy' };

/** U1..U9: a seeded Latin hypercube over RANGES. */
function sampledUniverses(): UniverseSpec[] {
  const random = seeded(15);
  const columns = Object.fromEntries(
    Object.entries(RANGES).map(([name, [low, high, log]]) => {
      const values = Array.from({ length: SAMPLED }, (_, i) => {
        const t = i / (SAMPLED - 1);
        return log ? low * (high / low) ** t : low + (high - low) * t;
      });
      return [name, shuffle(values, random)];
    }),
  ) as Record<keyof typeof RANGES, number[]>;
  return Array.from({ length: SAMPLED }, (_, i): UniverseSpec => {
    const at = (name: keyof typeof RANGES): number => columns[name][i]!;
    return {
      name: `U${i + 1}`,
      role: i + 1 <= 4 ? 'tuning' : 'held out',
      universe: {
        ...DEFAULT_UNIVERSE,
        seed: 1000 + i + 1,
        splitShare: round(at('splitShare'), 3),
        core: Math.round(at('core')),
        apps: Math.round(at('apps')),
        langpkgs: Math.round(at('langpkgs')),
        sizeScale: round(at('sizeScale'), 3),
      },
      bumps: { bumps: BUMPS, share: round(at('share'), 4), activitySigma: round(at('activitySigma'), 3), stagingMerge: round(at('stagingMerge'), 3) },
      images: Math.round(at('images')),
    };
  });
}

/** A number rounded to `digits` decimals (for a readable table). */
function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

/** The universe called `name` (U0..U9 or legacy); throws with the known names otherwise. */
export function universeNamed(name: string): UniverseSpec {
  const spec = [...UNIVERSES, LEGACY].find((candidate) => candidate.name.toLowerCase() === name.toLowerCase());
  if (spec === undefined) throw new Error(`Expected a universe among ${[...UNIVERSES, LEGACY].map((u) => u.name).join(', ')}, got ${name}`);
  return spec;
}
