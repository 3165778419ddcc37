/**
 * Channel bumps: which packages change between two revisions of the channel, and so which store
 * paths. Store paths follow Nix's rule (universe.ts `storePaths`): a package that changes changes
 * the store path of every path that reaches it. What changes is drawn by `channelBumps`:
 *
 * - Updates arrive per package, independently of where the package sits in the graph: each package
 *   has an activity drawn once (lognormal, mean 1, log-sigma `activitySigma`: some packages release
 *   often, most rarely) and is updated in a bump with probability `share` x activity. Nothing here
 *   looks at popularity or referrers.
 * - nixpkgs' staging rule decides when an update reaches the channel: a change that rebuilds more
 *   than STAGING_SHARE of the packages (nixpkgs: "501+ rebuilds ... should normally target the
 *   staging branches", of ~100,000 packages per platform) goes to staging and lands, with every
 *   other staged change, only when staging-next is merged; each bump is such a merge with
 *   probability `stagingMerge` (staging-next cycles take one to two weeks, the unstable channel
 *   advances every few days). Smaller changes land in the next bump.
 *
 * `legacyBumps` is the model the benchmark used before: a package changes with probability
 * share / (1 + referrers / 8), the very formula the stable-units layering weights volatility by.
 * It is kept only to reprint the old table (`--legacy`); no figure of the fair benchmark uses it.
 */

import type { Universe, Epoch } from './universe.ts';
import { storePaths } from './universe.ts';
import { normal, seeded, type Random } from './random.ts';

/** A change rebuilding more than this share of the packages goes through staging (500 of ~100,000). */
export const STAGING_SHARE = 0.005;

export interface BumpOptions {
  bumps: number;
  /** Mean share of the packages updated upstream per bump (0.02 = 2%). */
  share: number;
  /** Log-space sigma of the packages' activity (0 = every package equally likely to update). */
  activitySigma: number;
  /** Probability that a bump merges staging-next. */
  stagingMerge: number;
  seed: number;
}

/** Epoch 0 and `bumps` later epochs under the change process described in the header. */
export function channelBumps(universe: Universe, options: BumpOptions): Epoch[] {
  const activityRandom = seeded(options.seed);
  const random = seeded(options.seed + 1);
  const sizeRandom = seeded(options.seed + 2);
  const sigma = options.activitySigma;
  // exp(sigma z - sigma^2 / 2) has mean 1.
  const chance = universe.packages.map(() => Math.min(1, options.share * Math.exp(sigma * normal(activityRandom) - (sigma * sigma) / 2)));
  const rebuilds = rebuildCounts(universe);
  const limit = STAGING_SHARE * universe.packages.length;

  const revision = new Int32Array(universe.packages.length);
  const narSize = universe.nodes.map((node) => node.narSize);
  const epochs: Epoch[] = [{ paths: storePaths(universe, revision), narSize: [...narSize], changed: [], updated: [], stagingMerge: false }];
  const staged = new Set<number>();
  for (let bump = 0; bump < options.bumps; bump++) {
    const stagingMerge = random() < options.stagingMerge;
    const updated: number[] = [];
    const landing = new Set<number>();
    chance.forEach((p, pkg) => {
      if (random() >= p) return;
      updated.push(pkg);
      if (rebuilds[pkg]! > limit) staged.add(pkg);
      else landing.add(pkg);
    });
    if (stagingMerge) {
      for (const pkg of staged) landing.add(pkg);
      staged.clear();
    }
    const changed = [...landing].sort((a, b) => a - b);
    for (const pkg of changed) revision[pkg]! += 1;
    resize(universe, narSize, landing, sizeRandom);
    epochs.push({ paths: storePaths(universe, revision), narSize: [...narSize], changed, updated, stagingMerge });
  }
  return epochs;
}

/** How many packages each package's change rebuilds: the packages with a path that reaches it, itself included. */
export function rebuildCounts(universe: Universe): Int32Array {
  const users: number[][] = universe.nodes.map(() => []);
  universe.nodes.forEach((node, i) => node.references.forEach((target) => users[target]!.push(i)));
  const counts = new Int32Array(universe.packages.length);
  const seenNode = new Int32Array(universe.nodes.length);
  const seenPackage = new Int32Array(universe.packages.length);
  universe.packages.forEach((pkg, p) => {
    const stamp = p + 1;
    const stack = [pkg.out, ...(pkg.bin === undefined ? [] : [pkg.bin]), ...(pkg.dev === undefined ? [] : [pkg.dev])];
    for (const node of stack) seenNode[node] = stamp;
    let count = 0;
    while (stack.length > 0) {
      const node = stack.pop()!;
      const owner = universe.nodes[node]!.pkg;
      if (seenPackage[owner] !== stamp) {
        seenPackage[owner] = stamp;
        count += 1;
      }
      for (const user of users[node]!) {
        if (seenNode[user] !== stamp) {
          seenNode[user] = stamp;
          stack.push(user);
        }
      }
    }
    counts[p] = count;
  });
  return counts;
}

/** A changed package's outputs change size a little (0.9x to 1.1x). */
function resize(universe: Universe, narSize: number[], changed: ReadonlySet<number>, random: Random): void {
  for (let node = 0; node < universe.nodes.length; node++) {
    if (changed.has(universe.nodes[node]!.pkg)) narSize[node] = Math.max(100, Math.round(narSize[node]! * (0.9 + 0.2 * random())));
  }
}

/**
 * The previous model (see the header): each non-bootstrap package changes with probability
 * share / (1 + referrers / 8), every reverse dependency rehashed. Kept only for `--legacy`.
 */
export function legacyBumps(universe: Universe, bumps: number, share: number, seed: number): Epoch[] {
  const random = seeded(seed);
  const revision = new Int32Array(universe.packages.length);
  const narSize = universe.nodes.map((node) => node.narSize);
  const epochs: Epoch[] = [{ paths: storePaths(universe, revision), narSize: [...narSize], changed: [], updated: [], stagingMerge: false }];
  const candidates = universe.packages.map((_, p) => p).filter((p) => universe.packages[p]!.tier !== 'bootstrap');
  const referrers = new Int32Array(universe.packages.length);
  for (const node of universe.nodes) for (const target of node.references) referrers[universe.nodes[target]!.pkg]! += 1;
  for (let bump = 0; bump < bumps; bump++) {
    const changed: number[] = [];
    for (const p of candidates) {
      if (random() >= share / (1 + referrers[p]! / 8)) continue;
      changed.push(p);
      revision[p]! += 1;
    }
    const isChanged = new Set(changed);
    for (let node = 0; node < universe.nodes.length; node++) {
      if (isChanged.has(universe.nodes[node]!.pkg)) {
        narSize[node] = Math.max(100, Math.round(narSize[node]! * (0.9 + 0.2 * random())));
      }
    }
    epochs.push({ paths: storePaths(universe, revision), narSize: [...narSize], changed, updated: changed, stagingMerge: false });
  }
  return epochs;
}
