import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closure, describeInvariants, names } from '../../../origin/layers/test-graphs.ts';
import type { Popularity } from '../../../origin/layers/types.ts';
import { autoLayering } from './auto-layer.ts';
import { nixeryLayering } from './nixery.ts';
import { popularityContestLayering } from './popularity-contest.ts';

const none: Popularity = new Map();

describe('popularityContestLayering (nixpkgs referencesByPopularity)', () => {
  // closure-graph.py's own example: A1 B2 C3 D4 E5 F9 G2.
  const graph = closure(['A'], { A: [1, ['B', 'G']], B: [1, ['C', 'E']], C: [1, ['D', 'E']], D: [1, ['F']], E: [1, ['F']], F: [1, []], G: [1, []] });
  it('orders paths by the contest, ties by name, one layer each', () => {
    assert.deepEqual(names(popularityContestLayering(graph, { budget: 94, popularity: none })), [['F'], ['E'], ['D'], ['C'], ['B'], ['G'], ['A']]);
  });
  it('puts the rest in the last layer past budget - 1', () => {
    assert.deepEqual(names(popularityContestLayering(graph, { budget: 3, popularity: none })), [['F'], ['E'], ['A', 'B', 'C', 'D', 'G']]);
  });
});

describe('autoLayering (nixpkgs auto-layer.py)', () => {
  const graph = closure(['app'], { app: [10, ['big', 'small']], big: [100, ['lib']], small: [1, ['lib']], lib: [5, []] });
  it('gives each large path a layer with the dependencies only it uses', () => {
    assert.deepEqual(names(autoLayering(graph, { budget: 94, popularity: none })), [['lib'], ['small'], ['big'], ['app']]);
    assert.deepEqual(names(autoLayering(graph, { budget: 2, popularity: none })), [['big', 'lib'], ['app', 'small']]);
    assert.deepEqual(names(autoLayering(graph, { budget: 1, popularity: none })), [['app', 'big', 'lib', 'small']]);
  });
});

describeInvariants('popularity contest', popularityContestLayering, 600);
describeInvariants('auto-layer', autoLayering);
describeInvariants('nixery', nixeryLayering);
