/**
 * Child process of the determinism check: rebuilds every contender's layering of every epoch-0
 * image from input shuffled with the seed given as argument, and prints one hash per contender
 * and image as JSON. The parent compares the children's answers with its own unshuffled run.
 */

import { createHash } from 'node:crypto';
import type { ClosureGraph, LayerGroup } from '../../origin/layers/types.ts';
import { CONTENDERS } from './contenders.ts';
import { seeded, shuffle, type Random } from './random.ts';
import { BUDGET, setUp } from './setup.ts';
import { imageClosure } from './universe.ts';

/** A hash of an ordered list of layers (each its sorted paths). */
export function layeringHash(layers: readonly LayerGroup[]): string {
  const hash = createHash('sha256');
  for (const layer of layers) hash.update(layer.storePaths.join('\n')).update('\n--\n');
  return hash.digest('hex').slice(0, 16);
}

/** The closure with paths, references and roots in a random order. */
export function shuffled(graph: ClosureGraph, random: Random): ClosureGraph {
  return {
    roots: shuffle(graph.roots, random),
    paths: shuffle(graph.paths, random).map((info) => ({ ...info, references: shuffle(info.references, random) })),
  };
}

/** Runs the child's rebuild when this file is the entry point. */
function main(): void {
  const seed = Number(process.argv[2] ?? '1');
  const random = seeded(seed);
  const { universe, epochs, images, popularity } = setUp();
  const graphs = images.map((image) => imageClosure(universe, epochs[0]!, image));
  const out: Record<string, string[]> = {};
  for (const contender of CONTENDERS) {
    const options = { budget: contender.capped ? BUDGET : Number.MAX_SAFE_INTEGER, popularity: contender.popularity ? popularity : new Map<string, number>() };
    out[contender.id] = graphs.map((graph) => layeringHash(contender.algorithm(shuffled(graph, random), options)));
  }
  process.stdout.write(JSON.stringify(out));
}

if (import.meta.main) main();
