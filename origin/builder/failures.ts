/**
 * Whose failure a failed image is, and the registry's answer to it. The person pulling sees only
 * what their client prints, and clients print an error body only for 4xx (README: "When an image
 * cannot be built"):
 *
 *   the request's   a derivation of the requested closure fails to build, a requested package is
 *                   refused by its package set (broken, unfree, insecure, removed), the image is
 *                   over MAX_IMAGE_SIZE_MB, the image's system cannot be built here:
 *                   400 MANIFEST_UNKNOWN naming the package, the failing derivation and a one-line
 *                   reason, with a build id to find in the log (never the build log itself)
 *   the server's    NIX_TIMEOUT, a download that failed, a killed builder, a full disk: 503 with Retry-After;
 *                   storage failures by their kind (storage-error.ts); anything else: 500
 */

import { randomUUID } from 'node:crypto';
import { reasonPhrase, RegistryError, requestRefused } from '../../shared/errors.ts';
import { NixError } from '../nix/run.ts';
import { classifyBuildFailure, type BuildFailure } from '../nix/realise.ts';
import { StorageError } from '../storage/storage-error.ts';
import type { Logger } from '../log.ts';

/** A short id for one resolution of an image, in its log lines and in the errors its client sees. */
export function newBuildId(): string {
  return randomUUID().slice(0, 8);
}

export interface FailureContext {
  /** The packages the image name asked for, as written (for the message). */
  requested: readonly string[];
  buildId: string;
  timeoutSeconds: number;
  logger: Logger;
}

/** The answer to a failed resolution: the request's failures 4xx, the server's 5xx; logged in full. */
export function failureAnswer(error: unknown, context: FailureContext): RegistryError | StorageError {
  if (error instanceof RegistryError || error instanceof StorageError) return error;
  const { buildId, logger } = context;
  const packages = context.requested.length > 0 ? context.requested.join(', ') : 'the image';
  if (!(error instanceof NixError)) {
    logger.error({ err: error, build: buildId }, 'build failed');
    return new RegistryError('UNKNOWN', `The image could not be built (build ${buildId})`, { cause: error });
  }
  logger.error({ build: buildId, command: error.command, exitCode: error.exitCode, stderr: error.stderr.slice(-8000) }, 'nix failed');
  if (error.timedOut) {
    return retryLater(`Building ${packages} took longer than this registry allows (NIX_TIMEOUT, ${context.timeoutSeconds} s; build ${buildId})`, 60, error);
  }
  const failure = classifyBuildFailure(error.stderr);
  switch (failure.kind) {
    case 'disk-full':
      return retryLater(`The registry is out of disk space for builds (build ${buildId})`, 300, error);
    case 'killed':
      return retryLater(`A build of ${packages} was interrupted (signal ${failure.signal}; build ${buildId})`, 10, error);
    case 'download-failed':
      return retryLater(`A download needed to build ${packages} failed (build ${buildId})`, 60, error);
    case 'unsupported-system':
      return requestRefused(`${packages}: this registry cannot build for ${failure.wanted} (it builds on ${failure.machine}; build ${buildId})`, { cause: error });
    case 'build-failed':
      if (!error.command.startsWith('nix-store')) break;
      return buildFailedRefusal(packages, undefined, failure, buildId, error);
    case 'other':
      break;
  }
  const what = error.command.startsWith('nix-instantiate') ? 'The package set failed to evaluate' : `nix failed to build ${packages}`;
  return new RegistryError('UNKNOWN', `${what} (build ${buildId})`, { cause: error });
}

/** A server failure a retry may fix: 503 UNAVAILABLE with Retry-After. */
function retryLater(message: string, seconds: number, cause: unknown): RegistryError {
  return new RegistryError('UNAVAILABLE', message, { cause, headers: { 'Retry-After': String(seconds) } });
}

/** Whether an answer is the request's (remembered briefly, so a failing image is not rebuilt for every pull). */
export function isRequestRefusal(error: unknown): error is RegistryError {
  return error instanceof RegistryError && error.status >= 400 && error.status < 500 && error.code !== 'TOOMANYREQUESTS' && error.code !== 'UNAUTHORIZED';
}

/** A failure of one platform of a multi-platform image, naming the platform. */
export function onPlatform(error: unknown, platform: string): unknown {
  if (!(error instanceof RegistryError)) return error;
  const message = `${platform}: ${error.message}`;
  return new RegistryError(error.code, message, {
    status: error.status,
    headers: error.headers,
    cause: error,
    ...(error.detail === undefined ? {} : { detail: error.detail }),
    ...(error.reason === undefined ? {} : { reason: reasonPhrase(message) }),
  });
}

/** The 400 for a derivation that failed to build: who needs it, what failed, its exit code, the build id. */
export function buildFailedRefusal(
  who: string,
  packages: readonly string[] | undefined,
  failure: Extract<BuildFailure, { kind: 'build-failed' }>,
  buildId: string,
  cause: NixError,
): RegistryError {
  return requestRefused(`${who}: nix failed to build ${failure.derivations.join(', ')} (exit code ${failure.exitCode}; build ${buildId})`, {
    cause,
    detail: { ...(packages ? { packages } : {}), derivations: failure.derivations, exitCode: failure.exitCode, build: buildId },
  });
}
