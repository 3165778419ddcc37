/**
 * The page at `/` of both tiers: what a person opening the registry's address sees (./web/page.ts),
 * with this host's address in its examples. Its form submits here: `?packages=git+htop&shell=on
 * &arm64=on&zstd=on&tag=latest` renders the composed pull command, so it works without JavaScript.
 */

import type { Context } from 'hono';
import { composeImage, type ComposeInput } from './web/compose.ts';
import { PAGE_HEADERS, renderDocument } from './web/layout.ts';
import { FrontPage } from './web/page.ts';

/** The form a fresh visit shows. */
const EXAMPLE: ComposeInput = { packages: 'git htop', shell: true, arm64: false, zstd: false, tag: 'latest' };

/** The form's fields from the query, or the example when nothing was submitted. */
function formInput(c: Context): ComposeInput {
  const query = c.req.query();
  if (query['packages'] === undefined && query['tag'] === undefined) return EXAMPLE;
  return { packages: query['packages'] ?? '', shell: query['shell'] !== undefined, arm64: query['arm64'] !== undefined, zstd: query['zstd'] !== undefined, tag: query['tag'] ?? '' };
}

/** Says what this is and how to pull from it, composing the name the form asks for. */
export async function frontPage(c: Context): Promise<Response> {
  const host = new URL(c.req.url).host;
  const input = formInput(c);
  const html = await renderDocument(FrontPage({ host, input, composed: composeImage(input) }));
  return c.html(html, 200, { ...PAGE_HEADERS, 'Cache-Control': 'no-cache' });
}
