/**
 * The origin's own errors as registry errors, in one place: storage failures by kind (only an
 * unavailable store is a retryable 503), each logged with its kind, backend and operation.
 */

import { RegistryError } from '../../shared/errors.ts';
import { registryErrorResponse } from '../../shared/error-response.ts';
import { StorageError, storageRegistryError } from '../storage/storage-error.ts';
import type { Logger } from '../log.ts';

/** The registry error for an origin error, logged; undefined for an error that is unexpected. */
export function originRegistryError(error: unknown, logger: Logger): RegistryError | undefined {
  if (error instanceof RegistryError) return error;
  if (error instanceof StorageError) {
    const fields = { storage: error.backend, kind: error.kind, operation: error.operation, err: error.cause };
    if (error.kind === 'unavailable') logger.warn(fields, 'storage unavailable');
    else logger.error(fields, `storage ${error.kind}: the origin's storage configuration needs fixing`);
    return storageRegistryError(error);
  }
  return undefined;
}

/** Renders any error as a registry error response; unexpected ones are logged and hidden. */
export function errorResponse(error: unknown, logger: Logger): Response {
  const registryError = originRegistryError(error, logger);
  if (registryError) return registryErrorResponse(registryError);
  logger.error({ err: error }, 'unexpected error');
  return registryErrorResponse(new RegistryError('UNKNOWN', 'internal error'));
}
