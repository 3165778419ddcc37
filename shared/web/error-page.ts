/**
 * A registry error as a person reads it: the page a browser gets (instead of the JSON registry
 * clients get) for a request that fails, with the same status. It says what failed in the
 * registry's own words, whose failure it is, what to do next, and what a registry client would
 * print, and links to the front page.
 */

import { jsx, type JSXNode } from './jsx.ts';
import { Layout } from './layout.ts';

export interface ReadableError {
  status: number;
  /** The registry error code (MANIFEST_UNKNOWN, NAME_INVALID, ...). */
  code: string;
  /** The registry's message, as a client would print it. */
  message: string;
  /** The path asked for. */
  path: string;
  /** This registry's address (host[:port]), for the pull command. */
  host: string;
  /** Seconds to wait before retrying (Retry-After), when the registry said. */
  retryAfter: string | undefined;
}

/** The image reference a /v2 manifests path names (`<name>:<tag>` or `<name>@<digest>`), if it is one. */
export function pulledReference(path: string): string | undefined {
  const match = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
  if (!match) return undefined;
  const [, name = '', reference = ''] = match;
  return reference.includes(':') ? `${name}@${reference}` : reference === 'latest' ? name : `${name}:${reference}`;
}

/** What a status means for the person asking: whose failure it is and what to do. */
function explanation(error: ReadableError): string {
  const retry = error.retryAfter === undefined ? 'Retry in a little while.' : `Retry in ${error.retryAfter} seconds.`;
  if (error.status === 429) return `The registry is busy with other builds, or this address asked for many new images in a short time. Images already built still pull. ${retry}`;
  if (error.status === 401 || error.status === 403) return 'This registry refuses the request: it asks for something only its edge may ask for.';
  if (error.status === 405) return 'This registry is read-only: it answers GET and HEAD only.';
  if (error.status === 400 && error.code === 'MANIFEST_UNKNOWN') {
    return 'The image cannot be built: the message names the package and why. Pulling it again gives the same answer until the package set changes.';
  }
  if (error.status === 400 || error.status === 404) return 'The request names something this registry does not have, or cannot have: the message says what.';
  return `The registry failed to answer; this is not the request's fault. ${retry}`;
}

/** The page for one failed request. */
export function ErrorPage(error: ReadableError): JSXNode {
  const reference = pulledReference(error.path);
  return Layout({
    title: `${error.status} ${error.code} · nixedge`,
    body: [
      jsx('h1', {}, `${error.status} · ${error.code.replaceAll('_', ' ').toLowerCase()}`),
      jsx('p', { class: 'lead', id: 'message' }, error.message),
      jsx('p', {}, explanation(error)),
      reference === undefined
        ? jsx('p', {}, 'Registry clients get this answer as JSON (', jsx('code', {}, `{"errors":[{"code":"${error.code}",...}]}`), ').')
        : jsx(
            'p',
            {},
            'This address is for registry clients: ',
            jsx('code', {}, `docker pull ${error.host}/${reference}`),
            ' gets the same answer and prints its message.',
          ),
      jsx('p', {}, jsx('a', { href: '/' }, 'How to pull from this registry, and a form that checks an image'), '.'),
    ],
  });
}
