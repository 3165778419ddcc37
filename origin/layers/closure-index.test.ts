import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { indexClosure } from './closure-index.ts';

const path = (name: string): string => `/nix/store/${'0'.repeat(32)}-${name}`;

describe('indexClosure', () => {
  it('numbers paths in byte order, drops self-references and duplicate edges', () => {
    const index = indexClosure({
      roots: [path('b'), path('b')],
      paths: [
        { path: path('b'), narSize: 2, references: [path('b'), path('a'), path('a')] },
        { path: path('a'), narSize: 1, references: [path('a')] },
      ],
    });
    assert.deepEqual(index, { paths: [path('a'), path('b')], narSize: [1, 2], references: [[], [0]], roots: [1] });
  });

  it('rejects a reference to a path missing from the closure', () => {
    assert.throws(
      () => indexClosure({ roots: [path('a')], paths: [{ path: path('a'), narSize: 1, references: [path('gone')] }] }),
      new Error(`Expected the references of ${path('a')} to be paths of the closure, got ${path('gone')}`),
    );
  });

  it('rejects an unknown root, a duplicate path, a bad size and an unreachable path', () => {
    const a = { path: path('a'), narSize: 1, references: [] };
    assert.throws(() => indexClosure({ roots: [path('x')], paths: [a] }), /Expected every root to be a path of the closure, got .*-x$/);
    assert.throws(() => indexClosure({ roots: [path('a')], paths: [a, a] }), /Expected each store path once in the closure, got .*-a twice/);
    assert.throws(
      () => indexClosure({ roots: [path('a')], paths: [{ ...a, narSize: -1 }] }),
      /Expected the narSize of .*-a to be a non-negative integer, got -1/,
    );
    assert.throws(
      () => indexClosure({ roots: [path('a')], paths: [a, { path: path('b'), narSize: 1, references: [] }] }),
      /Expected every path of the closure to be reachable from its roots, got 1 unreachable: .*-b$/,
    );
  });
});
