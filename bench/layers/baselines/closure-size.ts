/**
 * Closure sizes: for every node of a reference graph, the total size of the nodes it reaches,
 * itself included (what Nix reports as `closureSize`, counting each path once). Nixery's layering
 * measures packages by their closure size, while `nix path-info --json` gives only `narSize`.
 *
 * Strongly connected components (Tarjan) make cycles harmless; each component's reachable set is
 * a bitset built from its successors' sets, sinks first, and freed once no component needs it;
 * a bitset is summed with a table of subset sums per byte.
 */

/** Total size of every node's closure (itself and everything it reaches), by node index. */
export function closureSizes(sizes: readonly number[], successors: readonly (readonly number[])[]): Float64Array {
  const n = sizes.length;
  if (successors.length !== n) {
    throw new RangeError(`Expected one successor list per node (${n}), got ${successors.length}`);
  }
  const { component, members } = stronglyConnectedComponents(successors);

  // How many edges still have to read each component's bitset.
  const readers = new Int32Array(members.length);
  for (let node = 0; node < n; node++) {
    for (const target of successors[node]!) {
      if (component[target] !== component[node]) readers[component[target]!]!++;
    }
  }

  const words = Math.ceil(n / 32);
  const byteSums = subsetSums(sizes, words * 4);
  const reachable: (Uint32Array | undefined)[] = new Array<Uint32Array | undefined>(members.length);
  const seenBy = new Int32Array(members.length).fill(-1);
  const result = new Float64Array(n);

  // Tarjan emits a component only after every component it reaches: sinks come first.
  for (let c = 0; c < members.length; c++) {
    const bits = new Uint32Array(words);
    const own = members[c]!;
    for (const node of own) bits[node >>> 5]! |= 1 << (node & 31);
    for (const node of own) {
      for (const target of successors[node]!) {
        const d = component[target]!;
        if (d === c) continue;
        if (seenBy[d] !== c) {
          seenBy[d] = c;
          const other = reachable[d]!;
          for (let w = 0; w < words; w++) bits[w]! |= other[w]!;
        }
        if (--readers[d]! === 0) reachable[d] = undefined;
      }
    }
    let total = 0;
    for (let w = 0; w < words; w++) {
      const word = bits[w]!;
      if (word === 0) continue;
      const base = w << 10;
      total +=
        byteSums[base + (word & 0xff)]! +
        byteSums[base + 0x100 + ((word >>> 8) & 0xff)]! +
        byteSums[base + 0x200 + ((word >>> 16) & 0xff)]! +
        byteSums[base + 0x300 + (word >>> 24)]!;
    }
    for (const node of own) result[node] = total;
    if (readers[c]! > 0) reachable[c] = bits;
  }
  return result;
}

/**
 * For each run of 8 nodes and each of the 256 subsets of it, the total size of the subset: a
 * bitset's total is then 4 lookups per 32-bit word instead of one step per set bit.
 */
function subsetSums(sizes: readonly number[], bytes: number): Float64Array {
  const table = new Float64Array(bytes * 256);
  for (let b = 0; b < bytes; b++) {
    const base = b * 256;
    for (let mask = 1; mask < 256; mask++) {
      const lowest = 31 - Math.clz32(mask & -mask);
      table[base + mask] = table[base + (mask & (mask - 1))]! + (sizes[b * 8 + lowest] ?? 0);
    }
  }
  return table;
}

/** Tarjan's algorithm, iterative: each node's component, and the components' members in emission order. */
function stronglyConnectedComponents(successors: readonly (readonly number[])[]): {
  component: Int32Array;
  members: number[][];
} {
  const n = successors.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const component = new Int32Array(n).fill(-1);
  const members: number[][] = [];
  const stack: number[] = [];
  const callNode = new Int32Array(n);
  const callEdge = new Int32Array(n);
  let counter = 0;

  for (let start = 0; start < n; start++) {
    if (index[start] !== -1) continue;
    let depth = 0;
    const enter = (node: number): void => {
      index[node] = counter;
      low[node] = counter;
      counter++;
      stack.push(node);
      onStack[node] = 1;
      callNode[depth] = node;
      callEdge[depth] = 0;
      depth++;
    };
    enter(start);
    while (depth > 0) {
      const node = callNode[depth - 1]!;
      const next = successors[node]!;
      const edge = callEdge[depth - 1]!;
      if (edge < next.length) {
        callEdge[depth - 1] = edge + 1;
        const target = next[edge]!;
        if (index[target] === -1) enter(target);
        else if (onStack[target] === 1) low[node] = Math.min(low[node]!, index[target]!);
        continue;
      }
      depth--;
      if (low[node] === index[node]) {
        const own: number[] = [];
        let member: number;
        do {
          member = stack.pop()!;
          onStack[member] = 0;
          component[member] = members.length;
          own.push(member);
        } while (member !== node);
        members.push(own);
      }
      if (depth > 0) {
        const parent = callNode[depth - 1]!;
        low[parent] = Math.min(low[parent]!, low[node]!);
      }
    }
  }
  return { component, members };
}
