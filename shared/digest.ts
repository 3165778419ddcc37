/** Content digests as registries spell them: `sha256:<64 lowercase hex>`. */

import { RegistryError } from './errors.ts';

export type Digest = `sha256:${string}`;

const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;

/** Whether `value` is a sha256 digest in canonical form. */
export function isDigest(value: string): value is Digest {
  return DIGEST_PATTERN.test(value);
}

/** Parses a digest from a URL, or throws DIGEST_INVALID. Only sha256 is accepted. */
export function parseDigest(value: string): Digest {
  if (!isDigest(value)) {
    throw new RegistryError('DIGEST_INVALID', `Expected a digest of the form sha256:<64 hex>, got "${value.slice(0, 80)}"`);
  }
  return value;
}

/** The hex part of a digest (the content address used as a storage key). */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

/** The digest for a hex sha256. */
export function digestFromHex(hex: string): Digest {
  return `sha256:${hex}`;
}
