/**
 * Validation of storage keys, shared by every backend. Keys are built only by shared/keys.ts, so
 * a key failing here is a bug in the caller; rejecting it early keeps a filesystem backend inside
 * its root and keeps object names portable between filesystem, S3/R2 and GCS.
 */

/** A key no backend accepts: a bug in the caller, never a storage outage. */
export class InvalidKeyError extends Error {
  override name = 'InvalidKeyError';
}

/** The longest key accepted, in UTF-8 bytes (S3 and GCS both allow 1024). */
export const MAX_KEY_BYTES = 1024;

// C0 control characters, DEL and backslash: never in a key built by shared/keys.ts.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARACTERS = /[\u0000-\u001f\u007f\\]/;

/** Throws unless `key` is a relative, '/'-separated path of non-empty segments other than "." and "..". */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string') {
    throw new TypeError(`Expected a storage key string, got ${typeof key}`);
  }
  const shown = JSON.stringify(key.length > 120 ? `${key.slice(0, 120)}...` : key);
  if (key.length === 0) {
    throw new InvalidKeyError('Expected a non-empty storage key, got ""');
  }
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw new InvalidKeyError(`Expected a storage key of at most ${MAX_KEY_BYTES} bytes, got ${bytes} bytes: ${shown}`);
  }
  const forbidden = FORBIDDEN_CHARACTERS.exec(key);
  if (forbidden) {
    throw new InvalidKeyError(
      `Expected a storage key without backslashes or control characters, got ${JSON.stringify(forbidden[0])} in ${shown}`,
    );
  }
  if (key.startsWith('/')) {
    throw new InvalidKeyError(`Expected a relative storage key, got an absolute one: ${shown}`);
  }
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new InvalidKeyError(`Expected storage key segments that are not empty, "." or "..", got ${JSON.stringify(segment)} in ${shown}`);
    }
  }
}

/** Throws unless `prefix` is "" or a valid key followed by "/" (a directory of keys, for listing). */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  if (typeof prefix !== 'string' || !prefix.endsWith('/')) {
    throw new InvalidKeyError(`Expected a listing prefix that is "" or ends in "/", got ${JSON.stringify(prefix)}`);
  }
  assertValidKey(prefix.slice(0, -1));
}
