/** The one place where the origin turns errors into HTTP responses, in the registry's error format. */

import { RegistryError } from '../../shared/errors.ts';
import { registryErrorResponse } from '../../shared/error-response.ts';
import type { Logger } from '../log.ts';

/** Renders any error as a registry error response; unexpected ones are logged and hidden. */
export function errorResponse(error: unknown, logger: Logger): Response {
  if (error instanceof RegistryError) return registryErrorResponse(error);
  logger.error({ err: error }, 'unexpected error');
  return registryErrorResponse(new RegistryError('UNKNOWN', 'internal error'));
}
