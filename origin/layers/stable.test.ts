import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stableLayering } from './stable.ts';
import { checkInvariants, closure, describeInvariants, names, randomClosure } from './test-graphs.ts';
import type { LayerGroup, Popularity } from './types.ts';

const none: Popularity = new Map();
const KB = 1000;

describe('stableLayering (ours)', () => {
  const graph = closure(['app1', 'app2'], {
    app1: [1000 * KB, ['priv1', 'shared']],
    app2: [1000 * KB, ['shared']],
    shared: [2000 * KB, ['libc']],
    libc: [400 * KB, []],
    priv1: [500 * KB, ['tiny']],
    tiny: [10 * KB, []],
  });
  it('makes a layer per unit (anchor + what only it reaches), most shared first', () => {
    // With the popularity file (tiny is absent from it: private in the channel), tiny travels with priv1.
    const popularity = new Map([['shared', 50]]);
    assert.deepEqual(names(stableLayering(graph, { budget: 94, popularity })), [['shared'], ['app1'], ['app2'], ['libc'], ['priv1', 'tiny']]);
  });
  it('keeps a big anchor apart from what it dominates without the popularity file', () => {
    // Without it, whether only priv1 reaches tiny depends on the image: priv1's layer must not.
    assert.deepEqual(names(stableLayering(graph, { budget: 94, popularity: none })), [['shared'], ['libc'], ['priv1'], ['app1'], ['app2'], ['tiny']]);
  });
  it('keeps the highest-priority units and puts the rest in the tail, last', () => {
    assert.deepEqual(names(stableLayering(graph, { budget: 3, popularity: none })), [['shared'], ['app1'], ['app2', 'libc', 'priv1', 'tiny']]);
  });
  it('orders by the popularity file when given one', () => {
    const layers = names(stableLayering(graph, { budget: 94, popularity: new Map([['app2', 100]]) }));
    assert.deepEqual(layers, [['app2'], ['app1'], ['libc'], ['priv1', 'tiny'], ['shared']]);
  });
  it('puts a unit under 300 kB of nar in the tail instead of a tiny layer', () => {
    const small = closure(['app', 'cfg'], { app: [900 * KB, []], cfg: [5 * KB, []] });
    assert.deepEqual(names(stableLayering(small, { budget: 94, popularity: none })), [['app'], ['cfg']]);
  });
  it('splits the tail by volatility, a bucket too small for a layer joining the next', () => {
    // s* and w* (no dependencies) are stable; each v* reaches six packages: volatile. All are small units.
    const spec: Record<string, [number, string[]]> = { s1: [100 * KB, []], s2: [100 * KB, []], s3: [100 * KB, []], s4: [100 * KB, []] };
    const w = ['w1', 'w2', 'w3', 'w4', 'w5', 'w6'];
    for (const name of w) spec[name] = [60 * KB, []];
    for (const name of ['v1', 'v2', 'v3']) spec[name] = [100 * KB, w];
    const stable = ['s1', 's2', 's3', 's4', 'w1', 'w2', 'w3', 'w4', 'w5', 'w6'];
    assert.deepEqual(names(stableLayering(closure(Object.keys(spec), spec), { budget: 94, popularity: none })), [stable, ['v1', 'v2', 'v3']]);
    // With v1 alone, the volatile bucket (100 kB) is too small for a layer: one tail layer.
    delete spec['v2'];
    delete spec['v3'];
    assert.deepEqual(names(stableLayering(closure(Object.keys(spec), spec), { budget: 94, popularity: none })), [[...stable.slice(0, 4), 'v1', ...w]]);
  });
});

describeInvariants('stable', stableLayering);

describe('stableLayering: a nixpkgs-sized closure', () => {
  // Its speed (p95 under 50 ms for 5,000+ paths) is measured by `npm run bench:layers`, not here.
  it('keeps every invariant on a 5,000-path closure', () => {
    const big = randomClosure(5000, 9);
    checkInvariants(big.graph, stableLayering(big.graph, { budget: 94, popularity: big.popularity }), 94);
  });
});
