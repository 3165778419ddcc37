/**
 * The layerings the benchmark compares, each set up as its authors ship it:
 *
 * - nixpkgs' popularity contest (B1) and auto-layer (B2): nixpkgs' budget (maxLayers 100, one for
 *   the customisation layer: 99), no popularity data (nixpkgs has none).
 * - Nixery (B3): its budget (94), the popularity file, layers in its manifest's order. Its cutoff
 *   (popularity >= 100 gets a layer) was set for nixpkgs' counts, so it is swept (NIXERY_CUTOFFS)
 *   and Nixery's best figure of the sweep is the one compared; "np" is Nixery without the file.
 * - ours: nixedge's budget (94), with the popularity file (compared with Nixery, which has it) and
 *   without (compared with auto-layer, which has none).
 * - B0 (one layer) and LB (a layer per path, uncapped: the ideal) frame the figures.
 */

import { autoLayering } from './baselines/auto-layer.ts';
import { nixeryLayering, nixeryVariant } from './baselines/nixery.ts';
import { popularityContestLayering } from './baselines/popularity-contest.ts';
import { indexClosure } from '../../origin/layers/closure-index.ts';
import { stableLayering } from '../../origin/layers/stable.ts';
import type { LayerGroup, LayeringAlgorithm } from '../../origin/layers/types.ts';
import { BUDGET, NIXPKGS_BUDGET } from './setup.ts';

export interface Contender {
  id: string;
  label: string;
  algorithm: LayeringAlgorithm;
  /** Whether the contender gets the universe's popularity file (Nixery's format). */
  popularity: boolean;
  /** Most store-path layers (the customisation layer comes on top). */
  budget: number;
}

/** Nixery's popularity cutoffs tried on every universe; 100 is Nixery's own. */
export const NIXERY_CUTOFFS: readonly number[] = [2, 3, 5, 10, 20, 50, 100];

/** Everything in one layer (B0). */
export const oneLayer: LayeringAlgorithm = (graph) => {
  const closure = indexClosure(graph);
  if (closure.paths.length === 0) return [];
  return [{ storePaths: closure.paths, narSize: closure.narSize.reduce((a, b) => a + b, 0) }];
};

/** One layer per store path, uncapped (LB, the ideal). */
export const layerPerPath: LayeringAlgorithm = (graph) => {
  const closure = indexClosure(graph);
  return closure.paths.map((path, node): LayerGroup => ({ storePaths: [path], narSize: closure.narSize[node]! }));
};

const UNCAPPED = Number.MAX_SAFE_INTEGER;

export const B0: Contender = { id: 'B0', label: 'one layer', algorithm: oneLayer, popularity: false, budget: BUDGET };
export const B1: Contender = { id: 'B1', label: 'nixpkgs popularity contest', algorithm: popularityContestLayering, popularity: false, budget: NIXPKGS_BUDGET };
export const AUTO_LAYER: Contender = { id: 'B2', label: 'nixpkgs auto-layer', algorithm: autoLayering, popularity: false, budget: NIXPKGS_BUDGET };
export const OURS: Contender = { id: 'ours', label: 'ours (stable), popularity', algorithm: stableLayering, popularity: true, budget: BUDGET };
export const OURS_NP: Contender = { id: 'ours-np', label: 'ours (stable), no popularity', algorithm: stableLayering, popularity: false, budget: BUDGET };
export const LB: Contender = { id: 'LB', label: 'one layer per path (ideal)', algorithm: layerPerPath, popularity: false, budget: UNCAPPED };

/** Nixery with the file at each cutoff of the sweep, then without it; manifest order. */
export const NIXERY_SWEEP: readonly Contender[] = [
  ...NIXERY_CUTOFFS.map(
    (cutoff): Contender => ({
      id: `B3@${cutoff}`,
      label: `Nixery, popularity >= ${cutoff}`,
      algorithm: nixeryVariant({ popularThreshold: cutoff, manifestOrder: true }),
      popularity: true,
      budget: BUDGET,
    }),
  ),
  { id: 'B3np', label: 'Nixery, no popularity', algorithm: nixeryVariant({ popularThreshold: 100, manifestOrder: true }), popularity: false, budget: BUDGET },
];

/** What every universe runs: the contenders the goals compare, and the ideal. */
export const FAIR: readonly Contender[] = [AUTO_LAYER, ...NIXERY_SWEEP, OURS, OURS_NP, LB];

/** The detailed table of one universe adds the popularity contest and one layer. */
export const DETAILED: readonly Contender[] = [B0, B1, ...FAIR];

/** The previous benchmark's contenders (`--legacy`): every budget 94, Nixery at 100 in layers.go's order. */
export const LEGACY_CONTENDERS: readonly Contender[] = [
  B0,
  { ...B1, budget: BUDGET },
  { ...AUTO_LAYER, budget: BUDGET },
  { id: 'B3a', label: 'Nixery, popularity', algorithm: nixeryLayering, popularity: true, budget: BUDGET },
  { id: 'B3b', label: 'Nixery, no popularity', algorithm: nixeryLayering, popularity: false, budget: BUDGET },
  OURS,
  OURS_NP,
  LB,
];

/** A contender of a list by id (the determinism child gets ids). */
export function contenderById(list: readonly Contender[], id: string): Contender {
  const found = list.find((contender) => contender.id === id);
  if (found === undefined) throw new Error(`Expected a contender among ${list.map((c) => c.id).join(', ')}, got ${id}`);
  return found;
}
