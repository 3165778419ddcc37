/**
 * The determinism check: a child process rebuilds the layering of every epoch-0 image of one
 * universe from input shuffled with a given seed, for the contenders named, and prints one hash per
 * contender and image as JSON; the parent compares them with its own unshuffled run.
 *
 *   node bench/layers/determinism.ts <universe> <seed> <list: fair|detailed|legacy> <id,id,...>
 */

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ClosureGraph } from '../../origin/layers/types.ts';
import { contenderById, DETAILED, FAIR, LEGACY_CONTENDERS, type Contender } from './contenders.ts';
import { layeringHash } from './layering-hash.ts';
import { optionsFor } from './measure.ts';
import { seeded, shuffle, type Random } from './random.ts';
import { setUp } from './setup.ts';
import { imageClosure } from './universe.ts';
import { universeNamed } from './universes.ts';

const run = promisify(execFile);

export const LISTS: Record<string, readonly Contender[]> = { fair: FAIR, detailed: DETAILED, legacy: LEGACY_CONTENDERS };

/** The closure with paths, references and roots in a random order. */
export function shuffled(graph: ClosureGraph, random: Random): ClosureGraph {
  return {
    roots: shuffle(graph.roots, random),
    paths: shuffle(graph.paths, random).map((info) => ({ ...info, references: shuffle(info.references, random) })),
  };
}

/** Runs the check in a child process (a fresh process: no state shared with the parent's run). */
export async function shuffledHashes(universe: string, seed: number, list: string, ids: readonly string[]): Promise<Record<string, string[]>> {
  const child = await run(process.execPath, [fileURLToPath(import.meta.url), universe, String(seed), list, ids.join(',')], { maxBuffer: 64 << 20 });
  return JSON.parse(child.stdout) as Record<string, string[]>;
}

/** The child's work (see the header). */
function main(): void {
  const [name = 'U0', seed = '1', list = 'fair', ids = ''] = process.argv.slice(2);
  const random = seeded(Number(seed));
  const bench = setUp(universeNamed(name));
  const graphs = bench.images.map((image) => imageClosure(bench.universe, bench.epochs[0]!, image));
  const out: Record<string, string[]> = {};
  for (const id of ids.split(',').filter((x) => x !== '')) {
    const contender = contenderById(LISTS[list] ?? FAIR, id);
    const options = optionsFor(contender, bench.popularity);
    out[id] = graphs.map((graph) => layeringHash(contender.algorithm(shuffled(graph, random), options)));
  }
  process.stdout.write(JSON.stringify(out));
}

if (import.meta.main) main();
