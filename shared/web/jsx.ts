/**
 * Hono's JSX without JSX syntax: `jsx(tag, props, ...children)` builds the same nodes compiled JSX
 * would (Node's type stripping does not transform JSX, and neither tier has a build step). It
 * calls hono/jsx's automatic runtime, what compiled JSX calls, rather than hono/jsx itself, whose
 * client-side API would more than double what the page adds to the Worker's bundle.
 */

import { jsx as runtime } from 'hono/jsx/jsx-runtime';
import type { Child, JSXNode } from 'hono/jsx';

export type { Child, JSXNode };

/** An element with its attributes and children (strings are escaped when rendered). */
export function jsx(tag: string, props: Record<string, unknown>, ...children: Child[]): JSXNode {
  return runtime(tag, children.length === 0 ? props : { ...props, children: children.length === 1 ? children[0] : children });
}
