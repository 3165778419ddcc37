/**
 * Storage failures as clients should see them: a backend that cannot be reached (a network
 * error, a 5xx, a timeout after the backend's own retries) becomes 503 UNAVAILABLE with a
 * Retry-After, in one place, instead of a 500 or a stack trace. Errors of the data being written
 * (a failing source stream) and programming errors (invalid keys) pass through unchanged.
 */

import type { Readable } from 'node:stream';
import { RegistryError } from '../../shared/errors.ts';
import type { ByteRange, Storage } from './storage.ts';
import { InvalidKeyError } from './keys-guard.ts';

/** Seconds a client is told to wait when storage is down. */
const RETRY_AFTER_SECONDS = '30';

/** Wraps a backend so that its failures surface as 503 UNAVAILABLE. */
export function withUnavailableErrors(storage: Storage): Storage {
  const unavailable = (operation: string, error: unknown): unknown =>
    error instanceof RegistryError || isKeyError(error)
      ? error
      : new RegistryError('UNAVAILABLE', `Storage (${storage.name}) is unavailable: retry shortly`, {
          cause: error,
          headers: { 'Retry-After': RETRY_AFTER_SECONDS },
          detail: { operation },
        });
  const guard = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw unavailable(operation, error);
    }
  };
  return {
    name: storage.name,
    stat: (key) => guard('stat', () => storage.stat(key)),
    read: (key: string, range?: ByteRange) => guard('read', () => storage.read(key, range)),
    readBytes: (key) => guard('readBytes', () => storage.readBytes(key)),
    writeBytes: (key, data) => guard('writeBytes', () => storage.writeBytes(key, data)),
    move: (from, to) => guard('move', () => storage.move(from, to)),
    delete: (key) => guard('delete', () => storage.delete(key)),
    writeStream: async (key: string, body: Readable) => {
      let sourceError: unknown;
      const remember = (error: unknown): void => {
        sourceError ??= error;
      };
      body.once('error', remember);
      try {
        return await storage.writeStream(key, body);
      } catch (error) {
        // The data failed (e.g. a store path could not be read): not a storage outage.
        if (sourceError !== undefined) throw error;
        throw unavailable('writeStream', error);
      } finally {
        body.off('error', remember);
      }
    },
  };
}

/** Invalid keys are programming errors: they stay what they are. */
function isKeyError(error: unknown): boolean {
  return error instanceof InvalidKeyError || error instanceof TypeError;
}
