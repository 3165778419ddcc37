import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { channelBumps, legacyBumps, rebuildCounts, STAGING_SHARE } from './bumps.ts';
import { closureNodes, DEFAULT_UNIVERSE, generateUniverse, type Epoch, type Universe } from './universe.ts';

const small = { ...DEFAULT_UNIVERSE, core: 300, langpkgs: 500, apps: 400, runtimes: 6, giantShare: 0.02 };

/** Share of a group of packages updated over the epochs (updates per package per bump). */
function updateRate(epochs: readonly Epoch[], group: readonly number[]): number {
  const members = new Set(group);
  const updates = epochs.slice(1).reduce((sum, epoch) => sum + epoch.updated.filter((pkg) => members.has(pkg)).length, 0);
  return updates / (group.length * (epochs.length - 1));
}

/** The most and the least referenced tenth of the packages (by direct referrers). */
function deciles(universe: Universe): { top: number[]; bottom: number[] } {
  const referrers = new Int32Array(universe.packages.length);
  for (const node of universe.nodes) for (const target of node.references) referrers[universe.nodes[target]!.pkg]! += 1;
  const order = universe.packages.map((_, p) => p).sort((a, b) => referrers[b]! - referrers[a]! || a - b);
  const tenth = Math.floor(order.length / 10);
  return { top: order.slice(0, tenth), bottom: order.slice(-tenth) };
}

describe('channel bumps', () => {
  const universe = generateUniverse(small);
  const epochs = channelBumps(universe, { bumps: 6, share: 0.05, activitySigma: 1, stagingMerge: 0.5, seed: 7 });

  it("change a path exactly when its closure holds a changed package (Nix's rule)", () => {
    for (let e = 1; e < epochs.length; e++) {
      const changed = new Set(epochs[e]!.changed);
      universe.nodes.forEach((_, node) => {
        const expected = closureNodes(universe, [node]).some((member) => changed.has(universe.nodes[member]!.pkg));
        assert.equal(epochs[e]!.paths[node] !== epochs[e - 1]!.paths[node], expected, `epoch ${e}, node ${node}`);
      });
    }
    assert.ok(epochs.slice(1).every((epoch) => epoch.changed.length > 0));
  });

  it('hold a change rebuilding more than 0.5% of the packages until a staging merge, and land the rest at once', () => {
    const rebuilds = rebuildCounts(universe);
    const limit = STAGING_SHARE * universe.packages.length;
    const staged = new Set<number>();
    let merges = 0;
    for (const epoch of epochs.slice(1)) {
      const expected = new Set<number>();
      for (const pkg of epoch.updated) {
        if (rebuilds[pkg]! > limit) staged.add(pkg);
        else expected.add(pkg);
      }
      if (epoch.stagingMerge) {
        merges += 1;
        for (const pkg of staged) expected.add(pkg);
        staged.clear();
      }
      assert.deepEqual(epoch.changed, [...expected].sort((a, b) => a - b));
    }
    assert.ok(merges > 0 && merges < epochs.length - 1, `Expected bumps with and without a merge, got ${merges} merges`);
  });

  it('count as rebuilds the packages that reach a package, itself included', () => {
    const rebuilds = rebuildCounts(universe);
    const glibc = 0;
    const reaching = new Set(universe.nodes.filter((_, node) => closureNodes(universe, [node]).includes(universe.packages[glibc]!.out)).map((node) => node.pkg));
    assert.equal(rebuilds[glibc], reaching.size);
    const leaf = universe.packages.findIndex((_, p) => rebuilds[p] === 1);
    assert.ok(leaf >= 0, 'some package nobody uses');
  });

  it('update popular and unpopular packages alike (what the layering guesses from popularity is not built in)', () => {
    const many = channelBumps(universe, { bumps: 40, share: 0.05, activitySigma: 0.5, stagingMerge: 1, seed: 3 });
    const { top, bottom } = deciles(universe);
    const ratio = updateRate(many, top) / updateRate(many, bottom);
    assert.ok(ratio > 0.7 && ratio < 1.4, `Expected the most referenced tenth updated about as often as the least, got ${ratio.toFixed(2)}x`);
    // The legacy rule is the layering's own formula: there the most referenced change far less often.
    const legacy = legacyBumps(universe, 40, 0.05, 3);
    const legacyRatio = updateRate(legacy, top) / updateRate(legacy, bottom);
    assert.ok(legacyRatio < 0.4, `Expected the legacy rule to spare popular packages, got ${legacyRatio.toFixed(2)}x`);
  });

  it('update about `share` of the packages per bump', () => {
    const many = channelBumps(universe, { bumps: 20, share: 0.04, activitySigma: 1, stagingMerge: 0.2, seed: 5 });
    const rate = updateRate(many, universe.packages.map((_, p) => p));
    assert.ok(rate > 0.03 && rate < 0.05, `Expected about 4% updated per bump, got ${(rate * 100).toFixed(1)}%`);
  });
});
