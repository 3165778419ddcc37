/**
 * Content digests as registries spell them (`sha256:<64 lowercase hex>`), and the one place the
 * project hashes small values and spells bytes as hex. WebCrypto only, so the edge (Workers) and
 * the origin (Node) compute the same digests with the same code. (Layers are hashed while they
 * stream, with Node's incremental hash, in origin/tarball/compress.ts.)
 */

import { RegistryError } from './errors.ts';

export type Digest = `sha256:${string}`;

/** The only digest algorithm served, and the form of its hex part. */
export const DIGEST_ALGORITHM = 'sha256';
export const SHA256_HEX = /^[a-f0-9]{64}$/;
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
  return digest.slice(DIGEST_ALGORITHM.length + 1);
}

/** The digest for a hex sha256. */
export function digestFromHex(hex: string): Digest {
  return `sha256:${hex}`;
}

const HEX_BYTE = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** Some bytes as lowercase hex. */
export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = '';
  for (const byte of view) out += HEX_BYTE[byte];
  return out;
}

/** The bytes a lowercase hex string spells, or undefined when it is not hex of whole bytes. */
export function fromHex(hex: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** sha256 of some bytes, or of a text as UTF-8, as lowercase hex. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data);
  return toHex(await crypto.subtle.digest('SHA-256', bytes));
}

/** The registry digest (`sha256:<hex>`) of some bytes, or of a text as UTF-8. */
export async function sha256Digest(data: Uint8Array | string): Promise<Digest> {
  return digestFromHex(await sha256Hex(data));
}
