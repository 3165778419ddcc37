/**
 * Rendezvous (highest-random-weight) hashing: which origin builds an image. Every origin gets a
 * score per key, sha256(origin, key); the key's order is the origins by score, highest first. All
 * edge locations compute the same order, so concurrent pulls of one image meet at one origin's
 * single flight; adding an origin moves to it only the keys it now scores highest on, removing
 * one moves only its own keys. Shared with the tests, which predict where an image goes.
 */

import { sha256Hex } from './digest.ts';

/** The routing key of a pull: the canonical image name (shared/reference.ts) and the tag or digest. */
export function routingKey(canonicalName: string, reference: string): string {
  return `${canonicalName}\0${reference}`;
}

/** `origins` in the order a miss for `key` tries them: highest score first (ties by URL, so every location agrees). */
export async function rendezvousOrder(key: string, origins: readonly string[]): Promise<string[]> {
  const scored = await Promise.all(
    origins.map(async (origin) => ({ origin, score: parseInt((await sha256Hex(`${origin}\0${key}`)).slice(0, 13), 16) })),
  );
  return scored.sort((a, b) => b.score - a.score || (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0)).map((entry) => entry.origin);
}
