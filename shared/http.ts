/** HTTP values every registry answer shares, at the edge and at the origin. */

/** The header every /v2 response carries (the distribution spec's version check). */
export const API_VERSION_HEADER = { 'Docker-Distribution-API-Version': 'registry/2.0' } as const;

/** Cache-Control values of registry answers. */
export const CACHE_CONTROL = {
  /** Content that can never change: anything addressed by digest, a tag naming a commit. */
  immutable: 'public, max-age=31536000, immutable',
  /** A tag that can move (latest, a branch, a channel): caches must ask again before reusing it. */
  revalidate: 'no-cache',
} as const;
