/**
 * The frame every nixedge page shares (the front page, readable errors), written with Hono's JSX
 * as plain `jsx()` calls: Node's type stripping does not transform JSX syntax, and the same file
 * must run at the origin (Node) and the edge (Workers) with no build step.
 */

import { jsx, type Child, type JSXNode } from './jsx.ts';
import { raw } from 'hono/html';
import { STYLES } from './styles.ts';

/** A whole HTML document: the head (viewport for phones, the inlined stylesheet) and `body`. */
export function Layout(props: { title: string; body: Child[]; script?: string }): JSXNode {
  return jsx(
    'html',
    { lang: 'en' },
    jsx(
      'head',
      {},
      jsx('meta', { charset: 'utf-8' }),
      jsx('meta', { name: 'viewport', content: 'width=device-width, initial-scale=1' }),
      jsx('title', {}, props.title),
      // No favicon request: every path outside /v2 answers a registry error.
      jsx('link', { rel: 'icon', href: 'data:,' }),
      jsx('style', {}, raw(STYLES)),
    ),
    jsx('body', {}, jsx('main', {}, ...props.body), props.script === undefined ? null : jsx('script', {}, raw(props.script))),
  );
}

/**
 * Headers every page is answered with: it loads nothing from elsewhere and talks only to this
 * registry (its inline script and styles are its own), and no other site may frame it.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** Renders a document to its HTML text, doctype first. */
export async function renderDocument(document: JSXNode): Promise<string> {
  return `<!doctype html>${await document.toString()}`;
}
