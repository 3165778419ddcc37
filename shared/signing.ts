/**
 * Request signing between the edge and the origin: HMAC-SHA256 with a shared secret over the
 * direction, the method, the path (with query), a timestamp, a nonce and the body's sha256. Used
 * both ways: the edge signs the misses it forwards (edge-to-origin), the origin signs its
 * write-backs (origin-to-edge); the direction is signed, so neither side accepts the other's. WebCrypto only, so the same
 * code runs in Node and in Workers; `crypto.subtle.verify` compares in constant time.
 *
 * A verifier also refuses timestamps more than MAX_CLOCK_SKEW_SECONDS away and, with its own
 * memory of nonces (KV at the edge, memory at the origin), replays.
 */

import { fromHex, sha256Hex, toHex } from './digest.ts';

export const SIGNATURE_HEADERS = {
  timestamp: 'x-nixedge-timestamp',
  nonce: 'x-nixedge-nonce',
  signature: 'x-nixedge-signature',
} as const;

/** How far a signed request's timestamp may be from the verifier's clock. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

/** Which way a request goes: a signature made for one direction is refused in the other. */
export type SignedDirection = 'edge-to-origin' | 'origin-to-edge';

export interface SignedParts {
  direction: SignedDirection;
  method: string;
  /** Path and query exactly as sent (`/v2/hello/manifests/latest?ns=x`). */
  pathAndQuery: string;
  body: Uint8Array;
}

export type Verification =
  | { ok: true; nonce: string; timestamp: number }
  | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'forged' };

const encoder = new TextEncoder();

async function hmacKey(secret: string) {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

/**
 * The exact string that is signed; every field on its own line, so none can blur into another.
 * Both tiers must build it identically: shared/signing.test.ts pins it with fixed vectors.
 */
export async function canonicalString(parts: SignedParts, timestamp: string, nonce: string): Promise<string> {
  return ['nixedge-hmac-v2', parts.direction, parts.method.toUpperCase(), parts.pathAndQuery, timestamp, nonce, await sha256Hex(parts.body)].join('\n');
}

async function canonical(parts: SignedParts, timestamp: string, nonce: string): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(encoder.encode(await canonicalString(parts, timestamp, nonce)));
}

/** The headers that sign a request. */
export async function signRequest(secret: string, parts: SignedParts, now: number = Date.now()): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(now / 1000));
  const nonce = crypto.randomUUID();
  const signature = await crypto.subtle.sign('HMAC', await hmacKey(secret), await canonical(parts, timestamp, nonce));
  return {
    [SIGNATURE_HEADERS.timestamp]: timestamp,
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.signature]: toHex(signature),
  };
}

/** Checks a request's signature and timestamp (the caller checks the nonce for replays). */
export async function verifyRequest(
  secret: string,
  parts: SignedParts,
  header: (name: string) => string | null | undefined,
  now: number = Date.now(),
): Promise<Verification> {
  const timestamp = header(SIGNATURE_HEADERS.timestamp);
  const nonce = header(SIGNATURE_HEADERS.nonce);
  const signature = header(SIGNATURE_HEADERS.signature);
  if (!timestamp || !nonce || !signature) return { ok: false, reason: 'missing' };
  const signatureBytes = fromHex(signature);
  if (!/^\d{1,12}$/.test(timestamp) || !/^[0-9a-f-]{16,64}$/.test(nonce) || !signatureBytes || signatureBytes.length !== 32) {
    return { ok: false, reason: 'malformed' };
  }
  const seconds = Number(timestamp);
  if (Math.abs(now / 1000 - seconds) > MAX_CLOCK_SKEW_SECONDS) return { ok: false, reason: 'stale' };
  const valid = await crypto.subtle.verify('HMAC', await hmacKey(secret), signatureBytes, await canonical(parts, timestamp, nonce));
  return valid ? { ok: true, nonce, timestamp: seconds } : { ok: false, reason: 'forged' };
}
