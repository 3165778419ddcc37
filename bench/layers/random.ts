/**
 * Seeded randomness for the layering benchmark: one stream per purpose, so adding a draw in one
 * place does not reshuffle everything else. mulberry32 is small, fast and good enough here.
 */

export type Random = () => number;

/** A uniform [0, 1) stream from a 32-bit seed (mulberry32). */
export function seeded(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal deviate (Box-Muller). */
export function normal(random: Random): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A lognormal deviate with the given median and log-space sigma. */
export function lognormal(random: Random, median: number, sigma: number): number {
  return median * Math.exp(sigma * normal(random));
}

/** A log-uniform deviate in [low, high). */
export function logUniform(random: Random, low: number, high: number): number {
  return low * Math.exp(random() * Math.log(high / low));
}

/** Cumulative Zipf weights 1/(rank+1)^s over `count` ranks, for `drawZipf`. */
export function zipfTable(count: number, exponent: number): Float64Array {
  const table = new Float64Array(count);
  let total = 0;
  for (let rank = 0; rank < count; rank++) {
    total += 1 / (rank + 1) ** exponent;
    table[rank] = total;
  }
  return table;
}

/** A rank below `limit` (default: all) drawn from a cumulative table: low ranks are the popular ones. */
export function drawZipf(random: Random, table: Float64Array, limit = table.length): number {
  const count = Math.min(limit, table.length);
  const target = random() * table[count - 1]!;
  let low = 0;
  let high = count - 1;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (table[mid]! < target) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** A copy of `items` in a seeded random order (Fisher-Yates). */
export function shuffle<T>(items: readonly T[], random: Random): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
