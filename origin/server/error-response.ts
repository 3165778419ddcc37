/** The one place where errors become HTTP responses, in the registry's error format. */

import { RegistryError } from '../../shared/errors.ts';
import type { Logger } from '../log.ts';

/** Renders any error as a registry error response; unexpected ones are logged and hidden. */
export function errorResponse(error: unknown, logger: Logger): Response {
  const registryError = error instanceof RegistryError ? error : new RegistryError('UNKNOWN', 'internal error');
  if (!(error instanceof RegistryError)) logger.error({ err: error }, 'unexpected error');
  return new Response(JSON.stringify(registryError.toBody()), {
    status: registryError.status,
    headers: { 'Content-Type': 'application/json', ...registryError.headers },
  });
}
