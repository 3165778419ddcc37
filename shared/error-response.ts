/** A RegistryError as an HTTP response in the registry's error format (both runtimes use this). */

import { RegistryError } from './errors.ts';

/**
 * Carries a reason phrase through runtimes whose Response loses `statusText` on the way to the
 * socket (Node's adapter): the origin's server writes it as the status line and drops the header.
 */
export const REASON_HEADER = 'x-nixedge-reason';

/** The response for a registry error: its status (and reason phrase), JSON body and extra headers. */
export function registryErrorResponse(error: RegistryError): Response {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...error.headers };
  if (error.reason !== undefined) headers[REASON_HEADER] = error.reason;
  return new Response(JSON.stringify(error.toBody()), {
    status: error.status,
    ...(error.reason === undefined ? {} : { statusText: error.reason }),
    headers,
  });
}
