/** HTTP byte ranges for blob reads (`Range: bytes=start-end`, one range). */

import { RegistryError } from '../../shared/errors.ts';
import type { ByteRange } from '../storage/storage.ts';

/**
 * The range a `Range` header asks for within an object of `size` bytes; undefined for the whole
 * object (no header, or a form we ignore as RFC 9110 allows: several ranges, other units). With
 * an `If-Range` that does not match the object's ETag exactly (a strong comparison; a date never
 * matches, as blobs carry no Last-Modified), the whole object is sent (RFC 9110 13.1.5).
 */
export function parseRange(header: string | undefined, size: number, ifRange?: { header: string | undefined; etag: string }): ByteRange | undefined {
  if (!header) return undefined;
  if (ifRange?.header !== undefined && ifRange.header.trim() !== ifRange.etag) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  let start: number;
  let end: number;
  if (first === '') {
    const suffix = Number(last); // the last N bytes
    start = Math.max(0, size - suffix);
    end = size - 1;
    if (suffix === 0) throw unsatisfiable(size);
  } else {
    start = Number(first);
    end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
    if (last !== '' && Number(last) < start) return undefined; // invalid: ignored
  }
  if (start >= size || end < start) throw unsatisfiable(size);
  return { start, end };
}

function unsatisfiable(size: number): RegistryError {
  return new RegistryError('RANGE_INVALID', `Requested range lies outside the blob (${size} bytes)`, {
    headers: { 'Content-Range': `bytes */${size}` },
  });
}
