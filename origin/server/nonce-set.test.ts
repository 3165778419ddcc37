import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_CLOCK_SKEW_SECONDS } from '../../shared/signing.ts';
import { NonceSet } from './nonce-set.ts';

test('a nonce is accepted once within twice the clock skew, and forgotten after', () => {
  const nonces = new NonceSet();
  const t0 = 1_000_000;
  assert.equal(nonces.add('a', t0), true);
  assert.equal(nonces.add('a', t0 + 1), false);
  assert.equal(nonces.add('a', t0 + 2 * MAX_CLOCK_SKEW_SECONDS * 1000 - 1), false);
  assert.equal(nonces.add('a', t0 + 2 * MAX_CLOCK_SKEW_SECONDS * 1000), true, 'expired: any replay would be stale by now');
});

test('expired nonces are pruned, so memory follows the request rate', () => {
  const nonces = new NonceSet({ ttlMs: 1000 });
  for (let i = 0; i < 100; i++) nonces.add(`n${i}`, i);
  assert.equal(nonces.size, 100);
  nonces.add('later', 1050);
  assert.equal(nonces.size, 50, 'n0..n50 expired, n51..n99 and later remain');
});

test('the set is bounded: past maxEntries the oldest is forgotten', () => {
  const nonces = new NonceSet({ maxEntries: 3 });
  for (const n of ['a', 'b', 'c', 'd']) assert.equal(nonces.add(n, 0), true);
  assert.equal(nonces.size, 3);
  assert.equal(nonces.evicted, 1);
  assert.equal(nonces.add('d', 0), false);
  assert.equal(nonces.add('a', 0), true, 'the oldest was evicted');
});
