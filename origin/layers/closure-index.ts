/**
 * A closure turned into integer-indexed arrays, with its input validated once. Nodes are numbered
 * in byte order of their store paths, so everything computed from the index is independent of the
 * order of `paths`, `references` and `roots` in the input.
 */

import { compareByteOrder } from './byte-order.ts';
import type { ClosureGraph } from './types.ts';

export interface IndexedClosure {
  /** Store paths in byte order; a node's index is its position here. */
  paths: string[];
  narSize: number[];
  /** References of each node: ascending, without duplicates and without the self-reference Nix adds. */
  references: number[][];
  /** The roots: ascending, without duplicates. */
  roots: number[];
}

/** Indexes a closure, rejecting duplicates, bad sizes, dangling references and unreachable paths. */
export function indexClosure(graph: ClosureGraph): IndexedClosure {
  for (const info of graph.paths) {
    if (typeof info.path !== 'string' || info.path === '') {
      throw new TypeError(`Expected every store path to be a non-empty string, got ${JSON.stringify(info.path)}`);
    }
  }
  const infos = [...graph.paths].sort((a, b) => compareByteOrder(a.path, b.path));
  const paths = infos.map((info) => info.path);
  const byPath = new Map<string, number>();
  paths.forEach((path, node) => {
    if (byPath.has(path)) throw new Error(`Expected each store path once in the closure, got ${path} twice`);
    byPath.set(path, node);
  });

  const narSize = infos.map((info) => {
    if (!Number.isSafeInteger(info.narSize) || info.narSize < 0) {
      throw new RangeError(`Expected the narSize of ${info.path} to be a non-negative integer, got ${info.narSize}`);
    }
    return info.narSize;
  });

  const references = infos.map((info, node) => {
    const targets = new Set<number>();
    for (const reference of info.references) {
      const target = byPath.get(reference);
      if (target === undefined) {
        throw new Error(`Expected the references of ${info.path} to be paths of the closure, got ${reference}`);
      }
      if (target !== node) targets.add(target);
    }
    return [...targets].sort((a, b) => a - b);
  });

  const roots = [
    ...new Set(
      graph.roots.map((root) => {
        const node = byPath.get(root);
        if (node === undefined) throw new Error(`Expected every root to be a path of the closure, got ${root}`);
        return node;
      }),
    ),
  ].sort((a, b) => a - b);

  checkReachable(paths, references, roots);
  return { paths, narSize, references, roots };
}

/** A closure holds only what its roots reach; anything else means the graph is not one closure. */
function checkReachable(paths: readonly string[], references: readonly (readonly number[])[], roots: readonly number[]): void {
  const seen = new Uint8Array(paths.length);
  const queue: number[] = [];
  for (const root of roots) {
    seen[root] = 1;
    queue.push(root);
  }
  for (let head = 0; head < queue.length; head++) {
    for (const target of references[queue[head]!]!) {
      if (seen[target] === 0) {
        seen[target] = 1;
        queue.push(target);
      }
    }
  }
  if (queue.length === paths.length) return;
  const unreachable = paths.filter((_, node) => seen[node] === 0);
  const shown = unreachable.slice(0, 3).join(', ') + (unreachable.length > 3 ? ', ...' : '');
  throw new Error(`Expected every path of the closure to be reachable from its roots, got ${unreachable.length} unreachable: ${shown}`);
}

/** The input of every layering algorithm, validated once: a positive integer budget and the indexed closure. */
export function indexLayeringInput(graph: ClosureGraph, budget: number): IndexedClosure {
  if (!Number.isSafeInteger(budget) || budget < 1) {
    throw new RangeError(`Expected the layer budget to be a positive integer, got ${budget}`);
  }
  return indexClosure(graph);
}
