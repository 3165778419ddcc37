/** The store gate: steps run together; a collection runs alone, waits for steps under way, and holds new ones back. */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StoreGate } from './store-gate.ts';

/** A promise and the function that resolves it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('StoreGate', () => {
  it('a collection waits for the steps under way, and steps asked for meanwhile wait for it', async () => {
    const gate = new StoreGate();
    const events: string[] = [];
    const first = deferred();
    const collection = deferred();
    const step1 = gate.shared(async () => {
      events.push('step 1 starts');
      await first.promise;
      events.push('step 1 ends');
    });
    const step2 = gate.shared(async () => {
      events.push('step 2 runs');
    });
    await tick();
    const gc = gate.exclusive(async () => {
      events.push('collection starts');
      await collection.promise;
      events.push('collection ends');
    });
    const step3 = gate.shared(async () => {
      events.push('step 3 runs');
    });
    await tick();
    assert.deepEqual(events, ['step 1 starts', 'step 2 runs'], 'the collection waits for step 1; step 3 waits for the collection');
    first.resolve();
    await tick();
    await tick();
    assert.deepEqual(events.slice(2), ['step 1 ends', 'collection starts']);
    collection.resolve();
    await Promise.all([step1, step2, gc, step3]);
    assert.deepEqual(events.slice(4), ['collection ends', 'step 3 runs']);
  });

  it('a failing step or collection lets the others through', async () => {
    const gate = new StoreGate();
    await assert.rejects(gate.shared(async () => Promise.reject(new Error('nix failed'))));
    await assert.rejects(gate.exclusive(async () => Promise.reject(new Error('gc failed'))));
    assert.equal(await gate.shared(async () => 'ran'), 'ran');
  });
});
