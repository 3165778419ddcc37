/**
 * `npm run bench:layers -- --sweep`: how each threshold of the stable-units layering was chosen.
 * Every variant changes one parameter of STABLE_PARAMETERS and runs on the tuning universes only
 * (U0..U4; the held-out ones are not looked at), with and without the popularity file, against the
 * same baselines as the benchmark: Nixery's best of its cutoff sweep, and nixpkgs' auto-layer.
 */

import type { ClosureGraph } from '../../origin/layers/types.ts';
import { STABLE_PARAMETERS, stableLayeringWith, type StableParameters } from '../../origin/layers/stable.ts';
import { AUTO_LAYER, NIXERY_SWEEP, OURS, OURS_NP, type Contender } from './contenders.ts';
import { measure, type Row } from './measure.ts';
import { pct, printTable } from './report.ts';
import { setUp } from './setup.ts';
import { imageClosure } from './universe.ts';
import { UNIVERSES } from './universes.ts';

/** The variants: a name and the parameters it changes. */
const VARIANTS: readonly [string, Partial<StableParameters>][] = [
  ['chosen', {}],
  ['anchorNarSize 100 kB', { anchorNarSize: 100_000 }],
  ['anchorNarSize 1 MB', { anchorNarSize: 1_000_000 }],
  ['minLayerNarSize 200 kB', { minLayerNarSize: 200_000 }],
  ['minLayerNarSize 500 kB', { minLayerNarSize: 500_000 }],
  ['sharedPopularity 2', { sharedPopularity: 2 }],
  ['sharedPopularity 5', { sharedPopularity: 5 }],
  ['sharedPopularity 10', { sharedPopularity: 10 }],
  ['stabilityLevels: none (1 bucket)', { stabilityLevels: [] }],
  ['stabilityLevels: 1, 3, 5', { stabilityLevels: [1, 3, 5] }],
  ['stabilityLevels: 0.5..4.5 by 1', { stabilityLevels: [0.5, 1.5, 2.5, 3.5, 4.5] }],
  ['stabilityLevels: 0.25..2.25 by 0.5 (v2)', { stabilityLevels: [0.25, 0.75, 1.25, 1.75, 2.25] }],
  ['stabilityLevels: 0.5..5.5 by 0.625', { stabilityLevels: [0.5, 1.125, 1.75, 2.375, 3, 3.625, 4.25, 4.875, 5.5] }],
  ['volatilityHalf 4', { volatilityHalf: 4 }],
  ['volatilityHalf 16', { volatilityHalf: 16 }],
  ['volatilityHalf infinite (every package 1)', { volatilityHalf: Number.POSITIVE_INFINITY }],
];

interface Baseline {
  nixeryD: number;
  nixeryChurn: number;
  autoD: number;
  autoChurn: number;
}

/** Runs every variant on the tuning universes and prints the worst case of each. */
export async function runSweep(): Promise<void> {
  const specs = UNIVERSES.filter((spec) => spec.role === 'tuning');
  const worst = VARIANTS.map(() => ({ d: 0, churn: 0, dNp: 0, churnNp: 0, small: 0 }));
  for (const spec of specs) {
    process.stderr.write(`bench:layers --sweep: ${spec.name}\n`);
    const bench = setUp(spec);
    const graphs: ClosureGraph[][] = bench.epochs.map((epoch) => bench.images.map((image) => imageClosure(bench.universe, epoch, image)));
    const sweep = NIXERY_SWEEP.map((contender) => measure(contender, graphs, bench.popularity));
    const auto = measure(AUTO_LAYER, graphs, bench.popularity);
    const base: Baseline = {
      nixeryD: Math.min(...sweep.map((row) => row.d)),
      nixeryChurn: Math.min(...sweep.map((row) => row.churn)),
      autoD: auto.d,
      autoChurn: auto.churn,
    };
    VARIANTS.forEach(([, change], i) => {
      const algorithm = stableLayeringWith({ ...STABLE_PARAMETERS, ...change });
      const variant = (contender: Contender): Row => measure({ ...contender, algorithm }, graphs, bench.popularity);
      const ours = variant(OURS);
      const oursNp = variant(OURS_NP);
      const w = worst[i]!;
      w.d = Math.max(w.d, ours.d / base.nixeryD);
      w.churn = Math.max(w.churn, ours.churn / base.nixeryChurn);
      w.dNp = Math.max(w.dNp, oursNp.d / base.autoD);
      w.churnNp = Math.max(w.churnNp, oursNp.churn / base.autoChurn);
      w.small = Math.max(w.small, ours.smallShare, oursNp.smallShare);
    });
  }
  console.log(`Sweep of the stable-units thresholds on the tuning universes (${specs.map((s) => s.name).join(', ')}); worst case over them of each figure.`);
  console.log(`Chosen: ${JSON.stringify(STABLE_PARAMETERS)}`);
  console.log('');
  printTable(
    ['variant', 'ours vs Nixery D', 'churn', 'ours-np vs auto-layer D', 'churn', 'max <100kB'],
    VARIANTS.map(([name], i) => {
      const w = worst[i]!;
      return [name, pct(w.d, 1), pct(w.churn, 1), pct(w.dNp, 1), pct(w.churnNp, 1), `${(w.small * 100).toFixed(1)}%`];
    }),
  );
}
