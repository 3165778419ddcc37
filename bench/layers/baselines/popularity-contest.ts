/**
 * nixpkgs' classic `buildLayeredImage` layering (B1): `referencesByPopularity`
 * (pkgs/build-support/references-by-popularity/closure-graph.py) orders the closure by a
 * "popularity contest", then `maxLayers - 1` paths get a layer each and the rest share the last.
 *
 * The contest: the graph is unrolled into a tree from the paths nobody references; a node's score
 * counts its occurrences, weighted by depth: contest(v)[x] = sum over children c of v of
 * ([c = x] + (contest(c)[x] + 1 if x is below c)), and the image's score is the same sum over the
 * unreferenced paths. Highest score first, ties by name then hash (closure-graph.py's
 * `package_name`). Back edges of a cycle (never in a Nix closure but self-references) are ignored.
 */

import { indexLayeringInput } from '../../../origin/layers/closure-index.ts';
import type { LayerGroup, LayeringAlgorithm } from '../../../origin/layers/types.ts';

/** Orders paths by the popularity contest and gives the first `budget - 1` their own layer. */
export const popularityContestLayering: LayeringAlgorithm = (graph, options) => {
  const { budget } = options;
  const closure = indexLayeringInput(graph, budget);
  const n = closure.paths.length;
  if (n === 0) return [];
  const order = popularityOrder(closure.paths, closure.references);
  const single = order.length <= budget ? order.length : budget - 1;
  const layers: number[][] = order.slice(0, single).map((node) => [node]);
  if (single < order.length) layers.push(order.slice(single).sort((a, b) => a - b));
  return layers.map(
    (nodes): LayerGroup => ({
      storePaths: nodes.map((node) => closure.paths[node]!),
      narSize: nodes.reduce((sum, node) => sum + closure.narSize[node]!, 0),
    }),
  );
};

/** Node indices by descending contest score, ties by closure-graph.py's `package_name` key. */
export function popularityOrder(paths: readonly string[], references: readonly (readonly number[])[]): number[] {
  const n = paths.length;
  const referenced = new Uint8Array(n);
  for (const targets of references) for (const target of targets) referenced[target] = 1;
  const contest = contests(references);
  const score = new Float64Array(n);
  for (let node = 0; node < n; node++) {
    if (referenced[node] === 1) continue;
    score[node]! += 1;
    for (const [x, value] of contest[node]!) score[x]! += value + 1;
  }
  const key = paths.map(packageName);
  return [...Array(n).keys()].sort((a, b) => score[b]! - score[a]! || (key[a]! < key[b]! ? -1 : key[a]! > key[b]! ? 1 : 0));
}

/** contest(v) for every node, children first (iterative DFS; back edges ignored). */
function contests(references: readonly (readonly number[])[]): Map<number, number>[] {
  const n = references.length;
  const result: Map<number, number>[] = new Array<Map<number, number>>(n);
  const state = new Uint8Array(n); // 0 new, 1 on the stack, 2 done
  for (let start = 0; start < n; start++) {
    if (state[start] !== 0) continue;
    const stack: [number, number][] = [[start, 0]];
    state[start] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [node, edge] = top;
      const targets = references[node]!;
      if (edge < targets.length) {
        top[1] = edge + 1;
        const target = targets[edge]!;
        if (state[target] === 0) {
          state[target] = 1;
          stack.push([target, 0]);
        }
        continue;
      }
      stack.pop();
      const own = new Map<number, number>();
      for (const child of targets) {
        if (state[child] !== 2) continue; // a back edge
        own.set(child, (own.get(child) ?? 0) + 1);
        for (const [x, value] of result[child]!) own.set(x, (own.get(x) ?? 0) + value + 1);
      }
      result[node] = own;
      state[node] = 2;
    }
  }
  return result;
}

/** closure-graph.py's `package_name`: the name after the hash, then the hash, so ties sort by name. */
function packageName(path: string): string {
  const parts = path.split('-');
  const start = parts.shift()!;
  parts.push(start);
  return parts.join('-');
}
