import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_UNIVERSE } from './universe.ts';
import { LEGACY, UNIVERSES, universeNamed } from './universes.ts';

describe('the universes', () => {
  it('are U0 (the previous default) and nine sampled ones, five for tuning and five held out', () => {
    assert.deepEqual(UNIVERSES.map((u) => u.name), ['U0', 'U1', 'U2', 'U3', 'U4', 'U5', 'U6', 'U7', 'U8', 'U9']);
    assert.deepEqual(UNIVERSES[0]!.universe, DEFAULT_UNIVERSE);
    assert.deepEqual(UNIVERSES.map((u) => u.role), [...Array(5).fill('tuning'), ...Array(5).fill('held out')]);
    assert.equal(new Set(UNIVERSES.map((u) => u.universe.seed)).size, UNIVERSES.length, 'every universe has its own seed');
  });

  it('span the plausible ranges, both ends included, each value once', () => {
    const sampled = UNIVERSES.slice(1);
    const spans: [string, number[], number, number][] = [
      ['path sizes', sampled.map((u) => u.universe.sizeScale), 0.25, 4],
      ['share updated per bump', sampled.map((u) => u.bumps.share), 0.02, 0.08],
      ['images', sampled.map((u) => u.images), 150, 400],
      ['split outputs', sampled.map((u) => u.universe.splitShare), 0.05, 0.4],
      ['applications', sampled.map((u) => u.universe.apps), 1500, 4000],
      ['language packages', sampled.map((u) => u.universe.langpkgs), 2000, 7000],
    ];
    for (const [name, values, low, high] of spans) {
      assert.equal(Math.min(...values), low, `${name}: lowest`);
      assert.equal(Math.max(...values), high, `${name}: highest`);
      assert.equal(new Set(values).size, values.length, `${name}: each value once`);
    }
  });

  it('are found by name, and the legacy setup is U0 with the old change rule', () => {
    assert.equal(universeNamed('u3').name, 'U3');
    assert.equal(LEGACY.universe, UNIVERSES[0]!.universe);
    assert.throws(() => universeNamed('U10'), /Expected a universe among U0, .*legacy, got U10/);
  });
});
