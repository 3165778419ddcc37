/**
 * The origin's memory of the nonces of signed requests it accepted (replay guard; the edge keeps
 * its own in KV). A nonce only needs remembering while a request carrying it could still pass the
 * timestamp check: a request seen at t has a timestamp >= t - MAX_CLOCK_SKEW_SECONDS, so its replay
 * is stale after t + 2 x MAX_CLOCK_SKEW_SECONDS. Entries are kept in insertion order (a Map), so
 * pruning walks from the oldest and stops at the first live one.
 *
 * Bounded: past `maxEntries` the oldest live nonce is forgotten (a replay of it within its window
 * would then pass; only requests with a valid signature are ever recorded, so filling the set needs
 * the secret). Availability of the edge's legitimate misses wins over refusing them.
 */

import { MAX_CLOCK_SKEW_SECONDS } from '../../shared/signing.ts';

export interface NonceSetOptions {
  /** How long a nonce is remembered, in ms (default 2 x MAX_CLOCK_SKEW_SECONDS). */
  ttlMs?: number;
  /** Most nonces remembered at once (default 100 000). */
  maxEntries?: number;
}

export class NonceSet {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  /** nonce -> epoch ms when it was first seen. */
  readonly #seen = new Map<string, number>();
  #evicted = 0;

  constructor({ ttlMs = 2 * MAX_CLOCK_SKEW_SECONDS * 1000, maxEntries = 100_000 }: NonceSetOptions = {}) {
    if (!(ttlMs > 0) || !Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`Expected ttlMs > 0 and maxEntries >= 1, got ${ttlMs} and ${maxEntries}`);
    }
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
  }

  /** Records `nonce`; false when it was already seen within the TTL (a replay). */
  add(nonce: string, now: number = Date.now()): boolean {
    this.#prune(now);
    if (this.#seen.has(nonce)) return false;
    if (this.#seen.size >= this.#maxEntries) {
      const oldest = this.#seen.keys().next();
      if (!oldest.done) this.#seen.delete(oldest.value);
      this.#evicted++;
    }
    this.#seen.set(nonce, now);
    return true;
  }

  /** Nonces currently remembered. */
  get size(): number {
    return this.#seen.size;
  }

  /** Live nonces forgotten because the set was full (for logs and tests). */
  get evicted(): number {
    return this.#evicted;
  }

  #prune(now: number): void {
    for (const [nonce, seenAt] of this.#seen) {
      if (now - seenAt < this.#ttlMs) break;
      this.#seen.delete(nonce);
    }
  }
}
