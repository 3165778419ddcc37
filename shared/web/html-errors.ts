/**
 * Errors a person can read: a request that accepts `text/html` (a browser) and fails gets the
 * same status, headers and reason phrase with a short HTML page instead of the registry's JSON
 * error body. Registry clients never ask for text/html, so they keep the JSON body.
 *
 * Works on the finished response, so it covers every error the same way: thrown errors rendered
 * by the app's one error renderer, the not-found answer, and error answers a tier passes through
 * (the edge forwarding the origin's).
 */

import type { Context, Env, MiddlewareHandler } from 'hono';
import { ErrorPage, type ReadableError } from './error-page.ts';
import { PAGE_HEADERS, renderDocument } from './layout.ts';

/** Whether an Accept header asks for HTML (browsers navigating; never registry clients). */
export function acceptsHtml(accept: string | undefined): boolean {
  return accept !== undefined && /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept);
}

/** The first error of a registry error body, if `body` is one. */
function firstError(body: unknown): { code: string; message: string } | undefined {
  if (typeof body !== 'object' || body === null || !('errors' in body) || !Array.isArray(body.errors)) return undefined;
  const [first]: unknown[] = body.errors;
  if (typeof first !== 'object' || first === null || !('code' in first) || !('message' in first)) return undefined;
  const { code, message } = first;
  return typeof code === 'string' && typeof message === 'string' ? { code, message } : undefined;
}

/**
 * Middleware turning JSON registry errors into HTML pages for browsers. `applies` says which
 * requests may get one (the origin answers its edge in JSON only, whatever the browser behind
 * the edge accepts, so the edge's memory of refusals never holds a page).
 */
export function htmlErrors<E extends Env>(applies: (c: Context<E>) => boolean = () => true): MiddlewareHandler<E> {
  return async (c, next) => {
    await next();
    const response = c.res;
    if (response.status < 400 || !acceptsHtml(c.req.header('accept')) || !applies(c)) return;
    if (!(response.headers.get('content-type') ?? '').startsWith('application/json')) return;
    const error = firstError(await response.clone().json().catch(() => undefined));
    if (!error) return;
    const page: ReadableError = {
      status: response.status,
      ...error,
      path: c.req.path,
      host: new URL(c.req.url).host,
      retryAfter: response.headers.get('retry-after') ?? undefined,
    };
    const html = await renderDocument(ErrorPage(page));
    const headers = new Headers(response.headers);
    headers.set('Content-Type', 'text/html; charset=utf-8');
    headers.delete('Content-Length');
    // The same URL answers JSON to clients: no cache may hand this page to one of them.
    headers.set('Vary', 'Accept');
    headers.set('Cache-Control', 'no-store');
    for (const [name, value] of Object.entries(PAGE_HEADERS)) headers.set(name, value);
    await response.body?.cancel();
    // Hono copies the old response's headers onto a replacement (Content-Length too): clear it first.
    c.res = undefined;
    c.res = new Response(c.req.method === 'HEAD' ? null : html, { status: response.status, statusText: response.statusText, headers });
  };
}
