/**
 * Storage as the metrics see it: every operation passes through to the backend unchanged, and
 * each failure is counted by kind (a StorageError, storage/storage-error.ts), each write by its
 * bytes. A Proxy, so every operation of the Storage interface is covered, present and future.
 */

import type { Storage } from '../storage/storage.ts';
import { StorageError } from '../storage/storage-error.ts';
import type { OriginMetrics } from './metrics.ts';

/** Bytes an operation wrote: writeBytes' data, writeStream's answered size. */
function writtenBytes(operation: string | symbol, args: unknown[], result: unknown): number {
  if (operation === 'writeBytes' && args[1] instanceof Uint8Array) return args[1].byteLength;
  if (operation === 'writeStream' && typeof result === 'object' && result !== null && 'size' in result && typeof result.size === 'number') return result.size;
  return 0;
}

/** `storage`, counting failures by kind and bytes written into `metrics`. */
export function observeStorage(storage: Storage, metrics: OriginMetrics): Storage {
  return new Proxy(storage, {
    get(target, property) {
      // Read from the target itself: a getter using private fields (or a native binding's) fails on the proxy.
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      // Only promises are observed: anything else (an async iterable, a value) passes as it is.
      return (...args: unknown[]): unknown => {
        const result: unknown = Reflect.apply(value, target, args);
        if (!(result instanceof Promise)) return result;
        return result.then(
          (resolved: unknown) => {
            const bytes = writtenBytes(property, args, resolved);
            if (bytes > 0) metrics.bytesUploaded.inc({ backend: target.name }, bytes);
            return resolved;
          },
          (error: unknown) => {
            if (error instanceof StorageError) metrics.storageErrors.inc({ backend: error.backend, kind: error.kind, operation: error.operation });
            throw error;
          },
        );
      };
    },
  });
}
