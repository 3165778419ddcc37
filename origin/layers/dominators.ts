/**
 * Dominator trees of directed graphs over nodes 0..n-1, by the iterative algorithm of Cooper,
 * Harvey and Kennedy, "A Simple, Fast Dominance Algorithm" (2001). Node d dominates node v when
 * every path from the entry to v passes through d; the immediate dominator of v is its closest
 * strict dominator, and those links form a tree rooted at the entry. The tree is unique, so the
 * result does not depend on the order of successors; children are listed in ascending node order.
 */

/** Immediate dominator of every node: `idom[entry] = entry`, -1 for nodes unreachable from `entry`. */
export function immediateDominators(successors: readonly (readonly number[])[], entry: number): Int32Array {
  const n = successors.length;
  checkGraph(successors, entry);

  // Depth-first search from the entry, numbering nodes in postorder (iterative: closures are deep).
  const postorderNumber = new Int32Array(n).fill(-1);
  const postorder: number[] = [];
  const visited = new Uint8Array(n);
  const stackNode = new Int32Array(n);
  const stackEdge = new Int32Array(n);
  let depth = 0;
  stackNode[0] = entry;
  stackEdge[0] = 0;
  depth = 1;
  visited[entry] = 1;
  while (depth > 0) {
    const node = stackNode[depth - 1]!;
    const next = successors[node]!;
    const edge = stackEdge[depth - 1]!;
    if (edge < next.length) {
      stackEdge[depth - 1] = edge + 1;
      const target = next[edge]!;
      if (visited[target] === 0) {
        visited[target] = 1;
        stackNode[depth] = target;
        stackEdge[depth] = 0;
        depth++;
      }
    } else {
      depth--;
      postorderNumber[node] = postorder.length;
      postorder.push(node);
    }
  }

  // Predecessors among reachable nodes only (an unreachable node constrains nothing), packed:
  // those of node v are predecessors[start[v]] .. predecessors[start[v + 1] - 1].
  const start = new Int32Array(n + 1);
  for (const node of postorder) {
    for (const target of successors[node]!) start[target + 1]!++;
  }
  for (let node = 0; node < n; node++) start[node + 1]! += start[node]!;
  const predecessors = new Int32Array(start[n]!);
  const fill = start.slice(0, n);
  for (const node of postorder) {
    for (const target of successors[node]!) predecessors[fill[target]!++] = node;
  }

  const idom = new Int32Array(n).fill(-1);
  idom[entry] = entry;
  const intersect = (a: number, b: number): number => {
    let x = a;
    let y = b;
    while (x !== y) {
      while (postorderNumber[x]! < postorderNumber[y]!) x = idom[x]!;
      while (postorderNumber[y]! < postorderNumber[x]!) y = idom[y]!;
    }
    return x;
  };

  // Iterate in reverse postorder (the entry is last in postorder) until nothing changes.
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = postorder.length - 2; i >= 0; i--) {
      const node = postorder[i]!;
      let candidate = -1;
      for (let k = start[node]!; k < start[node + 1]!; k++) {
        const predecessor = predecessors[k]!;
        if (idom[predecessor] === -1) continue;
        candidate = candidate === -1 ? predecessor : intersect(predecessor, candidate);
      }
      if (idom[node] !== candidate) {
        idom[node] = candidate;
        changed = true;
      }
    }
  }
  return idom;
}

/** Children of every node in the dominator tree given by `idom`, each list in ascending node order. */
export function dominatorTreeChildren(idom: Int32Array): number[][] {
  const children: number[][] = Array.from({ length: idom.length }, () => []);
  for (let node = 0; node < idom.length; node++) {
    const parent = idom[node]!;
    if (parent !== -1 && parent !== node) children[parent]!.push(node);
  }
  return children;
}

/** Rejects an entry or an edge that names no node, so a bad index is an error rather than a wrong tree. */
function checkGraph(successors: readonly (readonly number[])[], entry: number): void {
  const n = successors.length;
  if (!Number.isInteger(entry) || entry < 0 || entry >= n) {
    throw new RangeError(`Expected the entry to be a node in 0..${n - 1}, got ${entry}`);
  }
  for (let node = 0; node < n; node++) {
    for (const target of successors[node]!) {
      if (!Number.isInteger(target) || target < 0 || target >= n) {
        throw new RangeError(`Expected successors of node ${node} to be nodes in 0..${n - 1}, got ${target}`);
      }
    }
  }
}
