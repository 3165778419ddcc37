/** The page at `/` of both tiers: what a person opening the registry's address sees. */

import type { Context } from 'hono';

/** Says what this is and how to pull from it. */
export function frontPage(c: Context): Response {
  return c.text('nixedge: container images of Nix packages. Pull <this host>/shell/hello:latest with any registry client.\n');
}
