/**
 * The name of the route that answered a request, for request logs and metrics at both tiers: a
 * small, fixed set of labels (never the path itself, which holds image names).
 */

import type { Context } from 'hono';
import { routePath } from 'hono/route';

/** The registry surface's route patterns by name; other routes are named by their path. */
const NAMES: Readonly<Record<string, string>> = {
  '/v2': 'base',
  '/v2/': 'base',
  '/v2/:name{.+}/manifests/:reference': 'manifests',
  '/v2/:name{.+}/blobs/:digest': 'blobs',
  '/v2/:name{.+}/tags/list': 'tags',
  '/': 'front-page',
  '/*': 'not-found',
};

/** The route that answered `c` (call after the handler ran): `manifests`, `blobs`, `status`, ... */
export function routeName(c: Context): string {
  const pattern = routePath(c, -1);
  return NAMES[pattern] ?? pattern.replace(/^\/(_nixedge\/)?/, '');
}
