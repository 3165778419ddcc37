/**
 * nixpkgs' 2024 "auto-layer" (B2; pkgs/build-support/docker/auto-layer.py), the default of
 * `streamLayeredImage` since: the largest paths, one by one, become the primary path of a layer.
 * Each path is labelled with the set of primary paths its layer belongs to: adding primary P
 * gives P the label {P}, and every dependency D of P drops P's users from its label and, unless
 * its label already holds one of P's dependencies, gains P. Paths with equal labels share a layer.
 * Primaries are added until the next one would exceed the layer limit (`budget`).
 *
 * Primaries are taken by narSize descending, ties by byte order descending (the last of Python's
 * stable ascending sort pops first). Layers come out by the total narSize of their closure,
 * ascending (auto-layer.py's order), ties by first path; paths within a layer in byte order.
 */

import { indexLayeringInput } from '../../../origin/layers/closure-index.ts';
import type { LayerGroup, LayeringAlgorithm } from '../../../origin/layers/types.ts';

/** Groups a closure the way nixpkgs' auto-layer.py does (see the header). */
export const autoLayering: LayeringAlgorithm = (graph, options) => {
  const { budget } = options;
  const closure = indexLayeringInput(graph, budget);
  const n = closure.paths.length;
  if (n === 0) return [];
  const users: number[][] = Array.from({ length: n }, () => []);
  closure.references.forEach((targets, node) => targets.forEach((target) => users[target]!.push(node)));
  const bySize = [...Array(n).keys()].sort((a, b) => closure.narSize[a]! - closure.narSize[b]! || a - b);

  let labels: number[][] = Array.from({ length: n }, () => []);
  for (let i = bySize.length - 1; i >= 0; i--) {
    const primary = bySize[i]!;
    const next = labels.slice();
    next[primary] = [primary];
    const deps = reach(primary, closure.references, n);
    const primaryUsers = reach(primary, users, n);
    for (let dep = 0; dep < n; dep++) {
      if (deps[dep] === 0) continue;
      const label = next[dep]!.filter((p) => primaryUsers[p] === 0);
      if (!label.some((p) => deps[p] === 1)) label.push(primary);
      next[dep] = label.sort((a, b) => a - b);
    }
    if (countLabels(next) > budget) break;
    labels = next;
  }

  const groups = new Map<string, number[]>();
  for (let node = 0; node < n; node++) {
    const key = labels[node]!.join(',');
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [node]);
    else group.push(node);
  }
  const layers = [...groups.values()].map((nodes) => ({ nodes, closureSize: closureNarSize(nodes, closure.references, closure.narSize) }));
  layers.sort((a, b) => a.closureSize - b.closureSize || a.nodes[0]! - b.nodes[0]!);
  return layers.map(
    ({ nodes }): LayerGroup => ({
      storePaths: nodes.map((node) => closure.paths[node]!),
      narSize: nodes.reduce((sum, node) => sum + closure.narSize[node]!, 0),
    }),
  );
};

/** Marks the nodes reachable from `start` along `edges`, `start` itself excluded (unless on a cycle). */
function reach(start: number, edges: readonly (readonly number[])[], n: number): Uint8Array {
  const seen = new Uint8Array(n);
  const stack = [...edges[start]!];
  for (const node of stack) seen[node] = 1;
  while (stack.length > 0) {
    for (const next of edges[stack.pop()!]!) {
      if (seen[next] === 0) {
        seen[next] = 1;
        stack.push(next);
      }
    }
  }
  return seen;
}

/** How many distinct labels (layers) a labelling has. */
function countLabels(labels: readonly (readonly number[])[]): number {
  return new Set(labels.map((label) => label.join(','))).size;
}

/** Total narSize of the closure of a set of nodes. */
function closureNarSize(nodes: readonly number[], references: readonly (readonly number[])[], narSize: readonly number[]): number {
  const seen = new Uint8Array(narSize.length);
  const stack = [...nodes];
  for (const node of nodes) seen[node] = 1;
  let total = 0;
  while (stack.length > 0) {
    const node = stack.pop()!;
    total += narSize[node]!;
    for (const next of references[node]!) {
      if (seen[next] === 0) {
        seen[next] = 1;
        stack.push(next);
      }
    }
  }
  return total;
}
