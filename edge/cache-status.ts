/** The response header saying how the edge answered: from KV, stale from KV, or through the origin. */

export const CACHE_STATUS_HEADER = 'X-Nixedge-Cache';

export type CacheStatus = 'HIT' | 'STALE' | 'MISS';
