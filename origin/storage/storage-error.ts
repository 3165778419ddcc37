/**
 * Storage failures with a kind, as distribution's storage drivers report them: each backend says
 * what kind of failure an error of its own is (`StorageBackend.classify`), `withStorageErrors`
 * turns every failing operation into a `StorageError` of that kind, and the registry answers each
 * kind in one place (origin/server/error-response.ts):
 *
 *   unavailable     the store cannot be reached or failed transiently (network, 5xx, throttling,
 *                   timeouts after the backend's own retries): 503 UNAVAILABLE with Retry-After
 *   not-found       the bucket (or the filesystem root) does not exist: 500, the operator's to fix
 *   denied          the credentials are refused or lack a permission: 500, the operator's to fix
 *   misconfigured   any other answer saying the request itself is wrong (a bad endpoint, region
 *                   or bucket name): 500, the operator's to fix
 *
 * Only "unavailable" is worth retrying. Errors of the data being written (a store path that cannot
 * be read) and programming errors (invalid keys) are not storage failures and pass unchanged.
 */

import { PassThrough, type Readable } from 'node:stream';
import { RegistryError } from '../../shared/errors.ts';
import { InvalidKeyError } from './keys-guard.ts';
import type { ByteRange, ListedObject, Storage } from './storage.ts';

export type StorageErrorKind = 'unavailable' | 'not-found' | 'denied' | 'misconfigured';

/** A storage operation that failed, with the kind of failure and the backend's own error as cause. */
export class StorageError extends Error {
  override name = 'StorageError';
  readonly kind: StorageErrorKind;
  readonly backend: string;
  readonly operation: string;

  constructor(kind: StorageErrorKind, backend: string, operation: string, cause: unknown) {
    super(`${backend} storage ${operation} failed (${kind}): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.kind = kind;
    this.backend = backend;
    this.operation = operation;
  }
}

/** A storage backend: the Storage operations, and what kind of failure one of its errors is. */
export interface StorageBackend extends Storage {
  /** The kind of a failure this backend threw; undefined when the error is not a storage failure. */
  classify(error: unknown): StorageErrorKind | undefined;
}

/** Network-level failures every client library surfaces the same way: the store is unreachable. */
const NETWORK_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Whether `error` (or its cause) is a connection failure, a timeout or an abort. */
export function isNetworkFailure(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
    if (current.name === 'TimeoutError' || current.name === 'AbortError') return true;
    if (/socket hang up|fetch failed|network/i.test(current.message)) return true;
  }
  return false;
}

/** The kind of an HTTP answer from an object store. */
export function kindOfStatus(status: number): StorageErrorKind {
  if (status === 401 || status === 403) return 'denied';
  if (status === 404) return 'not-found';
  if (status === 408 || status === 429 || status >= 500) return 'unavailable';
  return 'misconfigured';
}

/** Wraps a backend so that every failing operation rejects with a StorageError of the backend's kind. */
export function withStorageErrors(backend: StorageBackend): Storage {
  const classified = (operation: string, error: unknown): unknown => {
    if (error instanceof StorageError || error instanceof RegistryError || error instanceof InvalidKeyError || error instanceof TypeError) return error;
    const kind = backend.classify(error);
    return kind === undefined ? error : new StorageError(kind, backend.name, operation, error);
  };
  const guard = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw classified(operation, error);
    }
  };
  /** Iterates the backend's listing, turning a failure on any page into a StorageError. */
  async function* guardedList(prefix: string): AsyncGenerator<ListedObject> {
    try {
      yield* backend.list(prefix);
    } catch (error) {
      throw classified('list', error);
    }
  }
  return {
    name: backend.name,
    list: guardedList,
    stat: (key) => guard('stat', () => backend.stat(key)),
    read: (key: string, range?: ByteRange) => guard('read', () => backend.read(key, range)),
    readBytes: (key) => guard('readBytes', () => backend.readBytes(key)),
    writeBytes: (key, data) => guard('writeBytes', () => backend.writeBytes(key, data)),
    move: (from, to) => guard('move', () => backend.move(from, to)),
    delete: (key) => guard('delete', () => backend.delete(key)),
    writeStream: async (key: string, body: Readable) => {
      // The backend reads a relay, never `body` itself: when the store fails, the backend destroys
      // the relay, so an error on `body` can only be the data's own (a store path that cannot be read).
      const relay = new PassThrough({ highWaterMark: body.readableHighWaterMark });
      relay.on('error', () => undefined); // the backend sees it through its own reading; never unhandled
      let sourceError: unknown;
      const onSourceError = (error: unknown): void => {
        sourceError ??= error;
        // Not from inside the source's 'error' event: a FileHandle the backend is opening at that
        // moment trips an assertion in Node 24 (InternalCallbackScope::Close).
        setImmediate(() => relay.destroy(error instanceof Error ? error : new Error(String(error))));
      };
      body.on('error', onSourceError);
      body.pipe(relay);
      try {
        return await backend.writeStream(key, relay);
      } catch (error) {
        if (sourceError !== undefined) throw sourceError;
        throw classified('writeStream', error);
      } finally {
        // (onSourceError stays: an error the source emits later must not go unhandled.)
        body.unpipe(relay);
        // The store gave up: stop whoever produces the data (without an error of its own).
        if (relay.destroyed && !body.readableEnded && !body.destroyed) body.destroy();
      }
    },
  };
}

/** Seconds a client is told to wait when storage is unavailable. */
const RETRY_AFTER_SECONDS = '30';

/** The registry's answer to a storage failure: only an unavailable store is worth retrying. */
export function storageRegistryError(error: StorageError): RegistryError {
  if (error.kind === 'unavailable') {
    return new RegistryError('UNAVAILABLE', `Storage (${error.backend}) is unavailable: retry shortly`, {
      cause: error,
      headers: { 'Retry-After': RETRY_AFTER_SECONDS },
      detail: { operation: error.operation },
    });
  }
  return new RegistryError('UNKNOWN', "The registry's storage is misconfigured; its operator has been told", { cause: error });
}
