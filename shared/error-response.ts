/** A RegistryError as an HTTP response in the registry's error format (both runtimes use this). */

import { RegistryError } from './errors.ts';

/** The response for a registry error: its status, JSON body and extra headers. */
export function registryErrorResponse(error: RegistryError): Response {
  return new Response(JSON.stringify(error.toBody()), {
    status: error.status,
    headers: { 'Content-Type': 'application/json', ...error.headers },
  });
}
