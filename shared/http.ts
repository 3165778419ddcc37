/** HTTP values every registry answer shares, at the edge and at the origin. */

/** The header every /v2 response carries (the distribution spec's version check). */
export const API_VERSION_HEADER = { 'Docker-Distribution-API-Version': 'registry/2.0' } as const;

/**
 * Cache-Control values of registry answers. A manifest by tag is negotiated on Accept (OCI or
 * Docker types): it carries `Vary: Accept` and is `private`, so no shared cache in front (a CDN,
 * a corporate proxy), even one that ignores Vary, can hand one client the other's type.
 */
export const CACHE_CONTROL = {
  /** Content that can never change and is the same for every client: anything addressed by digest. */
  immutable: 'public, max-age=31536000, immutable',
  /** A negotiated answer that never changes (a tag naming a commit): the client may keep it. */
  negotiatedImmutable: 'private, max-age=31536000, immutable',
  /** A negotiated answer that can move (latest, a branch, a channel): ask again before reusing it. */
  negotiatedRevalidate: 'private, no-cache',
} as const;

/** The header that goes with every answer negotiated on Accept. */
export const VARY_ACCEPT = { Vary: 'Accept' } as const;
