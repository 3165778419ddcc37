/** The layerings the benchmark compares, all under the same budget except the ideal (LB). */

import { autoLayering } from './baselines/auto-layer.ts';
import { indexClosure } from '../../origin/layers/closure-index.ts';
import { nixeryLayering } from './baselines/nixery.ts';
import { popularityContestLayering } from './baselines/popularity-contest.ts';
import { stableLayering } from '../../origin/layers/stable.ts';
import type { LayerGroup, LayeringAlgorithm } from '../../origin/layers/types.ts';

export interface Contender {
  id: string;
  label: string;
  algorithm: LayeringAlgorithm;
  /** Whether the contender gets the universe's popularity file (Nixery's format). */
  popularity: boolean;
  /** Whether the layer budget applies (only the ideal LB ignores it). */
  capped: boolean;
}

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

export const CONTENDERS: readonly Contender[] = [
  { id: 'B0', label: 'one layer', algorithm: oneLayer, popularity: false, capped: true },
  { id: 'B1', label: 'nixpkgs popularity contest', algorithm: popularityContestLayering, popularity: false, capped: true },
  { id: 'B2', label: 'nixpkgs auto-layer', algorithm: autoLayering, popularity: false, capped: true },
  { id: 'B3a', label: 'Nixery, popularity', algorithm: nixeryLayering, popularity: true, capped: true },
  { id: 'B3b', label: 'Nixery, no popularity', algorithm: nixeryLayering, popularity: false, capped: true },
  { id: 'ours', label: 'ours (stable), popularity', algorithm: stableLayering, popularity: true, capped: true },
  { id: 'ours-np', label: 'ours (stable), no popularity', algorithm: stableLayering, popularity: false, capped: true },
  { id: 'LB', label: 'one layer per path (ideal)', algorithm: layerPerPath, popularity: false, capped: false },
];
