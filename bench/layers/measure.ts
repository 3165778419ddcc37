/** One contender on one universe: its layers for every image and epoch, and the figures from them. */

import type { ClosureGraph } from '../../origin/layers/types.ts';
import type { Contender } from './contenders.ts';
import { layeringHash } from './layering-hash.ts';
import { chainPullBytes, imageBlobs, pullBytes, quantile, SMALL_LAYER_BYTES, updateBytes, type Blob } from './metrics.ts';

export interface Row {
  contender: Contender;
  /** Bytes pulling every image of epoch 0 with a warm cache (each layer once). */
  d: number;
  /** The same with docker's chain IDs (a layer reused only at the same position). */
  dChain: number;
  /** Bytes clients holding each image download for its next version, over every bump. */
  churn: number;
  /** D of each image family (index lists given by the caller). */
  families: Record<string, number>;
  /** Layers per image at epoch 0, the customisation layer included. */
  layersPerImage: number;
  /** Share of the store-path layers under SMALL_LAYER_BYTES at epoch 0. */
  smallShare: number;
  /** p95 of the layering time of the epoch-0 images, ms. */
  p95: number;
  /** p95 of the layering time of the large (5,000+ path) closures, ms; NaN when not timed. */
  p95Large: number;
  /** Shuffled rebuilds (in child processes) whose layers differ from this run's. */
  mismatches: number;
  /** One hash per epoch-0 image of its layering, for the determinism check. */
  hashes: string[];
}

/** The options a contender runs with: its budget and, if it gets it, the popularity file. */
export function optionsFor(contender: Contender, popularity: ReadonlyMap<string, number>): { budget: number; popularity: ReadonlyMap<string, number> } {
  return { budget: contender.budget, popularity: contender.popularity ? popularity : new Map<string, number>() };
}

/** Layers every image of every epoch with one contender and computes its figures. */
export function measure(
  contender: Contender,
  graphs: readonly (readonly ClosureGraph[])[],
  popularity: ReadonlyMap<string, number>,
  families: Record<string, readonly number[]> = {},
): Row {
  const options = optionsFor(contender, popularity);
  const times: number[] = [];
  const hashes: string[] = [];
  let small = 0;
  let layers = 0;
  const blobs: Blob[][][] = graphs.map((epochGraphs, e) =>
    epochGraphs.map((graph) => {
      const start = performance.now();
      const groups = contender.algorithm(graph, options);
      if (e === 0) {
        times.push(performance.now() - start);
        hashes.push(layeringHash(groups));
      }
      const sizes = new Map(graph.paths.map((info) => [info.path, info.narSize]));
      const result = imageBlobs(groups, (path) => sizes.get(path)!, graph.roots);
      if (e === 0) {
        layers += result.length;
        small += result.slice(0, -1).filter((blob) => blob.bytes < SMALL_LAYER_BYTES).length;
      }
      return result;
    }),
  );
  let churn = 0;
  for (let e = 1; e < blobs.length; e++) blobs[e]!.forEach((next, i) => (churn += updateBytes(blobs[e - 1]![i]!, next)));
  const familyD: Record<string, number> = {};
  for (const [family, members] of Object.entries(families)) familyD[family] = pullBytes(members.map((i) => blobs[0]![i]!));
  const images = graphs[0]!.length;
  return {
    contender,
    d: pullBytes(blobs[0]!),
    dChain: chainPullBytes(blobs[0]!),
    churn,
    families: familyD,
    layersPerImage: layers / images,
    smallShare: small / (layers - images),
    p95: quantile(times, 0.95),
    p95Large: Number.NaN,
    mismatches: 0,
    hashes,
  };
}

/** Rounds of the large-closure timing (after one warm-up round); their median p95 is reported. */
export const TIMING_ROUNDS = 3;

/**
 * p95 of a contender's layering time over the large closures, ms: one warm-up round, then the
 * median of TIMING_ROUNDS rounds' p95 (the machine is shared: one round can catch a neighbour's burst).
 */
export function timeLarge(contender: Contender, large: readonly ClosureGraph[], popularity: ReadonlyMap<string, number>): number {
  const options = optionsFor(contender, popularity);
  const round = (): number =>
    quantile(
      large.map((graph) => {
        const start = performance.now();
        contender.algorithm(graph, options);
        return performance.now() - start;
      }),
      0.95,
    );
  round();
  return median(Array.from({ length: TIMING_ROUNDS }, round));
}

/** The median of a list of numbers (the lower middle for an even count). */
function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}
