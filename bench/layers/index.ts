/**
 * `npm run bench:layers`: every layering contender on one seeded synthetic nixpkgs-like universe
 * (see universe.ts), 200 images over 5 channel epochs. Prints one table, a table per image family,
 * and as its last line `ours vs nixery: D -NN.N%, churn -NN.N%; vs auto-layer: D -NN.N%`.
 */

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ClosureGraph } from '../../origin/layers/types.ts';
import { CONTENDERS, type Contender } from './contenders.ts';
import { layeringHash } from './determinism.ts';
import { chainPullBytes, imageBlobs, pullBytes, quantile, SMALL_LAYER_BYTES, updateBytes, type Blob, COMPRESSION_RATIO, TAR_HEADER_BYTES, AVERAGE_FILE_BYTES } from './metrics.ts';
import { BUDGET, BUMP_SHARE, BUMPS, IMAGES, LARGE_PATHS, setUp, timingImages } from './setup.ts';
import { closureNodes, imageClosure, type ImageSpec } from './universe.ts';

const run = promisify(execFile);
const CHILDREN = 3;
const SMALL_IMAGE_BYTES = 150e6;
const GIANT_IMAGE_BYTES = 1.5e9;

export interface Row {
  contender: Contender;
  d: number;
  dChain: number;
  churn: number;
  families: Record<string, number>;
  layersPerImage: number;
  smallShare: number;
  p95: number;
  p95Large: number;
  mismatches: number;
  hashes: string[];
}

/** Runs the benchmark and prints its tables. */
async function main(): Promise<void> {
  const started = performance.now();
  const bench = setUp();
  const { universe, epochs, images, popularity } = bench;
  const children = Array.from({ length: CHILDREN }, (_, i) =>
    run(process.execPath, [fileURLToPath(new URL('./determinism.ts', import.meta.url)), String(101 + i)], { maxBuffer: 64 << 20 }),
  );
  const graphs: ClosureGraph[][] = epochs.map((epoch) => images.map((image) => imageClosure(universe, epoch, image)));
  const large = timingImages(universe).map((image) => imageClosure(universe, epochs[0]!, image));
  const families = imageFamilies(bench.universe, epochs[0]!.narSize, images);

  const rows: Row[] = [];
  for (const contender of CONTENDERS) rows.push(measure(contender, graphs, large, images, families, popularity));
  const answers = (await Promise.all(children)).map((child) => JSON.parse(child.stdout) as Record<string, string[]>);
  for (const row of rows) {
    for (const answer of answers) {
      const theirs = answer[row.contender.id] ?? [];
      row.hashes.forEach((hash, i) => {
        if (theirs[i] !== hash) row.mismatches += 1;
      });
    }
  }
  print(rows, families, bench, large, performance.now() - started);
}

/** Layers every image of every epoch with one contender and computes its metrics. */
function measure(
  contender: Contender,
  graphs: readonly (readonly ClosureGraph[])[],
  large: readonly ClosureGraph[],
  images: readonly ImageSpec[],
  families: Record<string, number[]>,
  popularity: Map<string, number>,
): Row {
  const options = { budget: contender.capped ? BUDGET : Number.MAX_SAFE_INTEGER, popularity: contender.popularity ? popularity : new Map<string, number>() };
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
  const largeTimes = large.map((graph) => {
    const start = performance.now();
    contender.algorithm(graph, options);
    return performance.now() - start;
  });
  let churn = 0;
  for (let e = 1; e < blobs.length; e++) blobs[e]!.forEach((next, i) => (churn += updateBytes(blobs[e - 1]![i]!, next)));
  const familyD: Record<string, number> = {};
  for (const [family, members] of Object.entries(families)) familyD[family] = pullBytes(members.map((i) => blobs[0]![i]!));
  return {
    contender,
    d: pullBytes(blobs[0]!),
    dChain: chainPullBytes(blobs[0]!),
    churn,
    families: familyD,
    layersPerImage: layers / images.length,
    smallShare: small / (layers - images.length),
    p95: quantile(times, 0.95),
    p95Large: quantile(largeTimes, 0.95),
    mismatches: 0,
    hashes,
  };
}

/** Image indices per family: small closures, interpreter environments, giant closures. */
function imageFamilies(universe: ReturnType<typeof setUp>['universe'], narSize: readonly number[], images: readonly ImageSpec[]): Record<string, number[]> {
  const small: number[] = [];
  const interpreter: number[] = [];
  const giant: number[] = [];
  images.forEach((image, i) => {
    const bytes = closureNodes(universe, image.roots).reduce((sum, node) => sum + narSize[node]!, 0);
    if (bytes < SMALL_IMAGE_BYTES) small.push(i);
    if (image.kind === 'interpreter') interpreter.push(i);
    if (bytes >= GIANT_IMAGE_BYTES) giant.push(i);
  });
  return { small, interpreter, giant };
}

/** Prints the tables and the summary line (last). */
function print(rows: Row[], families: Record<string, number[]>, bench: ReturnType<typeof setUp>, large: readonly ClosureGraph[], elapsed: number): void {
  const gb = (bytes: number): string => (bytes / 1e9).toFixed(2);
  const pct = (ours: number, theirs: number): string => `${ours <= theirs ? '-' : '+'}${(Math.abs(ours / theirs - 1) * 100).toFixed(1)}%`;
  const closures = bench.images.map((image) => closureNodes(bench.universe, image.roots).length).sort((a, b) => a - b);
  console.log(
    `Layering benchmark: ${bench.universe.nodes.length} store paths, ${IMAGES} images (closures ${closures[0]}..${closures.at(-1)} paths, ` +
      `median ${quantile(closures, 0.5)}), ${BUMPS} channel bumps (~${BUMP_SHARE * 100}% of packages change, reverse deps rehash), budget ${BUDGET} + customisation layer.`,
  );
  console.log(
    `Bytes are modelled, not packed: layer = narSize x ${COMPRESSION_RATIO} + ${TAR_HEADER_BYTES} B per tar entry (1 per path + 1 per ${AVERAGE_FILE_BYTES / 1000} kB); ` +
      `layer digest = sha256 of its sorted store paths. D, D_chain over epoch 0; churn summed over ${BUMPS} bumps x ${IMAGES} images.`,
  );
  console.log('');
  const header = ['contender', 'D GB', 'D_chain GB', 'churn GB', 'layers/img', '<100kB', 'p95 ms', `p95 ms ${LARGE_PATHS / 1000}k`, 'det. mismatches'];
  const table = rows.map((row) => [
    `${row.contender.id} ${row.contender.label}`,
    gb(row.d),
    gb(row.dChain),
    gb(row.churn),
    row.layersPerImage.toFixed(1),
    `${(row.smallShare * 100).toFixed(1)}%`,
    row.p95.toFixed(2),
    row.p95Large.toFixed(1),
    String(row.mismatches),
  ]);
  printTable(header, table);
  console.log('');
  const familyHeader = ['D by image family GB', ...Object.entries(families).map(([name, members]) => `${name} (${members.length})`)];
  printTable(familyHeader, rows.map((row) => [row.contender.id, ...Object.keys(families).map((name) => gb(row.families[name]!))]));
  console.log('');
  console.log(`(${large.length} timing closures of ${large.map((g) => g.paths.length).sort((a, b) => a - b)[0]}+ paths; ${CHILDREN} shuffled rebuilds in child processes; ${(elapsed / 1000).toFixed(0)} s)`);
  const by = (id: string): Row => rows.find((row) => row.contender.id === id)!;
  const ours = by('ours');
  console.log(`ours vs nixery: D ${pct(ours.d, by('B3a').d)}, churn ${pct(ours.churn, by('B3a').churn)}; vs auto-layer: D ${pct(ours.d, by('B2').d)}`);
}

/** Prints rows as an aligned text table. */
function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

if (import.meta.main) await main();
