/**
 * Nixery's popularity file, as written by its `popcount` tool (google/nixery popcount/popcount.go)
 * and read by the server with `json.Unmarshal` into a `map[string]int`: one JSON object mapping a
 * store path's name (the path without `/nix/store/<hash>-`, version included, e.g.
 * `"glibc-2.27": 302571`) to how many store paths of a nixpkgs channel reference it. popcount
 * drops names counted once (referenced only by themselves), so absent names count as unpopular.
 */

import type { Popularity } from './types.ts';

/** Validates a parsed popularity file (`JSON.parse` output) into a map from package name to count. */
export function parsePopularity(json: unknown): Popularity {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TypeError(
      `Expected the popularity file to be a JSON object mapping package names to reference counts, got ${describe(json)}`,
    );
  }
  const popularity = new Map<string, number>();
  for (const [name, count] of Object.entries(json)) {
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
      throw new TypeError(`Expected the popularity of "${name}" to be a non-negative integer, got ${describe(count)}`);
    }
    popularity.set(name, count);
  }
  return popularity;
}

/**
 * The popularity key of a store path: its name without the store directory and hash
 * (`/nix/store/<hash>-openssl-3.0.13` -> `openssl-3.0.13`), as Nixery's `PackageFromPath` strips
 * `^/nix/store/[a-z0-9]+-`. Any store directory works: the last path component is used.
 */
export function popularityKey(storePath: string): string {
  const base = storePath.slice(storePath.lastIndexOf('/') + 1);
  return base.replace(/^[a-z0-9]+-/, '');
}

/** A short description of an unexpected JSON value for error messages. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return typeof value;
}
