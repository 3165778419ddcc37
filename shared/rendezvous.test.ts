/** Rendezvous hashing: deterministic, spread evenly, and an added origin takes only its share. */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rendezvousOrder, routingKey } from './rendezvous.ts';

const ORIGINS = ['https://a.example', 'https://b.example', 'https://c.example'];
const keys = Array.from({ length: 3000 }, (_, i) => routingKey(`nixedge-image/v1\nsystem=x86_64-linux\nshell=false\npkg${i}`, 'latest'));

describe('rendezvousOrder', () => {
  it('orders every origin once, the same way every time and whatever order they are configured in', async () => {
    const order = await rendezvousOrder(keys[0]!, ORIGINS);
    assert.deepEqual([...order].sort(), ORIGINS);
    assert.deepEqual(await rendezvousOrder(keys[0]!, [...ORIGINS].reverse()), order);
    assert.equal(
      (await rendezvousOrder(routingKey('nixedge-image/v1\nsystem=x86_64-linux\nshell=true\nhello', 'latest'), ORIGINS))[0],
      'https://c.example',
      'golden vector: edge locations and tests agree on where an image goes',
    );
  });

  it('spreads keys evenly', async () => {
    const counts = new Map<string, number>();
    for (const key of keys) {
      const [first] = await rendezvousOrder(key, ORIGINS);
      counts.set(first!, (counts.get(first!) ?? 0) + 1);
    }
    for (const origin of ORIGINS) {
      const share = (counts.get(origin) ?? 0) / keys.length;
      assert.ok(share > 0.29 && share < 0.38, `${origin} gets ${share}`);
    }
  });

  it('an added origin takes only keys it now leads; removing one moves only its own', async () => {
    const four = [...ORIGINS, 'https://d.example'];
    let moved = 0;
    for (const key of keys) {
      const [before] = await rendezvousOrder(key, ORIGINS);
      const [after] = await rendezvousOrder(key, four);
      if (before !== after) {
        assert.equal(after, 'https://d.example', 'a key moves only to the new origin');
        moved += 1;
      }
      const [without] = await rendezvousOrder(key, ORIGINS.filter((origin) => origin !== 'https://b.example'));
      if (before !== 'https://b.example') assert.equal(without, before, 'keys of the other origins stay');
    }
    assert.ok(moved / keys.length > 0.2 && moved / keys.length < 0.3, `about a quarter moves, got ${moved / keys.length}`);
  });
});
