import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { channelBumps } from './bumps.ts';
import { DEFAULT_UNIVERSE, generateImages, generateUniverse, imageClosure, universePopularity } from './universe.ts';

const small = { ...DEFAULT_UNIVERSE, core: 300, langpkgs: 500, apps: 400, runtimes: 6, giantShare: 0.02 };

describe('the synthetic universe', () => {
  const universe = generateUniverse(small);
  const bumps = { bumps: 2, share: 0.05, activitySigma: 1, stagingMerge: 0.5, seed: 7 };
  const epochs = channelBumps(universe, bumps);

  it('is the same for the same seed and differs for another', () => {
    assert.deepEqual(channelBumps(generateUniverse(small), bumps)[2]!.paths, epochs[2]!.paths);
    assert.notDeepEqual(channelBumps(generateUniverse({ ...small, seed: 1 }), bumps)[0]!.paths, epochs[0]!.paths);
  });

  it('scales every path size by sizeScale and nothing else', () => {
    const scaled = generateUniverse({ ...small, sizeScale: 4 });
    assert.deepEqual(scaled.nodes.map((node) => node.references), universe.nodes.map((node) => node.references));
    scaled.nodes.forEach((node, i) => assert.ok(Math.abs(node.narSize - 4 * universe.nodes[i]!.narSize) <= 2 || node.narSize === 200, `node ${i}`));
  });

  it('has its tiers, references only to earlier paths, in-degree concentrated low, giants and split outputs', () => {
    const count = (tier: string): number => universe.nodes.filter((node) => node.tier === tier).length;
    assert.equal(count('bootstrap'), 26);
    assert.equal(count('runtime'), 6);
    assert.equal(count('langpkg'), 500);
    assert.ok(count('core') > 300 && count('app') > 400, 'split outputs add bin and dev paths');
    universe.nodes.forEach((node, i) => node.references.forEach((target) => assert.ok(target < i)));
    const inDegree = new Array<number>(universe.nodes.length).fill(0);
    for (const node of universe.nodes) for (const target of node.references) inDegree[target]! += 1;
    assert.equal(Math.max(...inDegree), inDegree[0], 'glibc is the most referenced path');
    assert.ok(inDegree[0]! > universe.nodes.length / 4);
    assert.ok(universe.nodes.some((node) => node.narSize >= 100e6 && node.narSize < 2e9), 'giants present');
    assert.ok(universe.nodes.some((node) => node.output === 'dev'));
    const sizes = universe.nodes.filter((node) => node.tier === 'core').map((node) => node.narSize).sort((a, b) => a - b);
    const median = sizes[Math.floor(sizes.length / 2)]!;
    assert.ok(median > 100e3 && median < 400e3, `median narSize near 200 kB, got ${median}`);
  });

  it('makes images with nss-cacert and iana-etc and valid closures, and a popularity file', () => {
    const images = generateImages(universe, 20, 3);
    assert.equal(images.length, 20);
    for (const image of images) {
      const graph = imageClosure(universe, epochs[0]!, image);
      assert.ok(graph.roots.some((root) => root.includes('-nss-cacert-')));
      assert.ok(graph.roots.some((root) => root.includes('-iana-etc-')));
      assert.ok(graph.roots.length >= 3);
    }
    const popularity = universePopularity(universe, epochs[0]!);
    assert.ok((popularity.get(epochs[0]!.paths[0]!.slice(44)) ?? 0) > 100, 'glibc is popular');
  });
});
