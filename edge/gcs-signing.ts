/**
 * Google Cloud Storage V4 signed URLs (GOOG4-RSA-SHA256, query-string authentication), made with
 * WebCrypto inside the Worker: no Google library, no call to IAM. The steps follow Google's
 * "Signing URLs manually" (https://cloud.google.com/storage/docs/access-control/signing-urls-manually):
 *
 *   canonical request = method \n path \n canonical query \n canonical headers \n\n signed headers \n UNSIGNED-PAYLOAD
 *   string to sign    = GOOG4-RSA-SHA256 \n <datetime> \n <date>/auto/storage/goog4_request \n hex(sha256(canonical request))
 *   signature         = hex(RSASSA-PKCS1-v1_5 / SHA-256 over the string to sign, with the service account's key)
 *
 * Only the `host` header is signed (the URL is meant to be followed by any client), the path is
 * path-style `/<bucket>/<object>`, and the result is checked byte for byte against Google's
 * conformance vectors (googleapis/conformance-tests storage/v1/v4_signatures.json) in the tests.
 */

import { sha256Hex, toHex } from '../shared/digest.ts';

export const GCS_ALGORITHM = 'GOOG4-RSA-SHA256';
export const GCS_DEFAULT_HOST = 'storage.googleapis.com';
/** The longest a V4 signed URL may be valid: 7 days. */
export const GCS_MAX_EXPIRY_SECONDS = 604_800;

export interface GcsSignOptions {
  bucket: string;
  /** The object name, unencoded (e.g. `layers/<hex>`); slashes stay path separators. */
  objectKey: string;
  serviceAccountEmail: string;
  /** The service account's private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), as in its JSON key file. */
  privateKeyPem: string;
  /** 1..604800 (7 days). */
  expirySeconds: number;
  /** The signing time (X-Goog-Date). */
  now: Date;
  method?: string;
  /** The host (with a port when not the scheme's default) the URL targets; it is the signed `host` header. */
  host?: string;
  scheme?: 'https' | 'http';
}

/** The parts of a V4 signature, for tests and diagnostics. */
export interface GcsSignedParts {
  url: string;
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
}

/** A V4 signed URL for one object. */
export async function signGcsUrl(options: GcsSignOptions): Promise<string> {
  return (await signGcsUrlParts(options)).url;
}

/** A V4 signed URL with its canonical request and string to sign. */
export async function signGcsUrlParts(options: GcsSignOptions): Promise<GcsSignedParts> {
  const { bucket, objectKey, serviceAccountEmail, expirySeconds, now } = options;
  const method = (options.method ?? 'GET').toUpperCase();
  const host = (options.host ?? GCS_DEFAULT_HOST).toLowerCase();
  const scheme = options.scheme ?? 'https';
  if (!Number.isInteger(expirySeconds) || expirySeconds < 1 || expirySeconds > GCS_MAX_EXPIRY_SECONDS) {
    throw new RangeError(`GCS signed URL expiry must be a whole number of seconds in 1..${GCS_MAX_EXPIRY_SECONDS}, got ${expirySeconds}`);
  }
  if (bucket === '' || bucket.includes('/')) throw new RangeError(`Invalid GCS bucket name: ${JSON.stringify(bucket)}`);
  if (Number.isNaN(now.getTime())) throw new RangeError('Invalid signing time');

  const datetime = goog4Datetime(now);
  const date = datetime.slice(0, 8);
  const scope = `${date}/auto/storage/goog4_request`;
  const path = `/${bucket}/${encodeObjectName(objectKey)}`;
  const query: [string, string][] = [
    ['X-Goog-Algorithm', GCS_ALGORITHM],
    ['X-Goog-Credential', `${serviceAccountEmail}/${scope}`],
    ['X-Goog-Date', datetime],
    ['X-Goog-Expires', String(expirySeconds)],
    ['X-Goog-SignedHeaders', 'host'],
  ];
  const canonicalQuery = query
    .map(([name, value]) => [encodeRfc3986(name), encodeRfc3986(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonicalRequest = [method, path, canonicalQuery, `host:${host}\n`, 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const stringToSign = [GCS_ALGORITHM, datetime, scope, await sha256Hex(canonicalRequest)].join('\n');
  const key = await importPrivateKey(options.privateKeyPem);
  const signature = toHex(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, new TextEncoder().encode(stringToSign)));
  return {
    url: `${scheme}://${host}${path}?${canonicalQuery}&X-Goog-Signature=${signature}`,
    canonicalRequest,
    stringToSign,
    signature,
  };
}

/** `YYYYMMDDTHHMMSSZ` in UTC. */
function goog4Datetime(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** RFC 3986 percent-encoding: everything but the unreserved characters A-Z a-z 0-9 - . _ ~ (UTF-8). */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** An object name in a path: each segment encoded, the slashes kept (even leading or doubled ones). */
export function encodeObjectName(objectKey: string): string {
  return objectKey.split('/').map(encodeRfc3986).join('/');
}

/** Imported keys, by PEM text: a key is imported once per isolate. */
const keys = new Map<string, Promise<CryptoKey>>();

/** Imports a PKCS#8 PEM RSA private key for RSASSA-PKCS1-v1_5 / SHA-256 signing (cached by key text). */
export function importPrivateKey(pem: string): Promise<CryptoKey> {
  let key = keys.get(pem);
  if (!key) {
    key = importPem(pem);
    keys.set(pem, key);
    // A key that does not import is not cached: the error is reported on every use.
    key.catch(() => keys.delete(pem));
  }
  return key;
}

async function importPem(pem: string): Promise<CryptoKey> {
  // Key files hold the PEM with real newlines; a value pasted from JSON may carry literal "\n".
  const text = pem.replace(/\\n/g, '\n').trim();
  if (/-----BEGIN RSA PRIVATE KEY-----/.test(text)) {
    throw new TypeError('The GCS private key is PKCS#1 ("BEGIN RSA PRIVATE KEY"); a PKCS#8 key ("BEGIN PRIVATE KEY", as in service-account key files) is needed');
  }
  const match = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(text);
  if (!match?.[1]) throw new TypeError('The GCS private key is not a PKCS#8 PEM key ("-----BEGIN PRIVATE KEY-----")');
  let der: Uint8Array<ArrayBuffer>;
  try {
    der = Uint8Array.from(atob(match[1].replace(/\s+/g, '')), (c) => c.charCodeAt(0));
  } catch {
    throw new TypeError('The GCS private key is not valid base64 PEM');
  }
  try {
    return await crypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
  } catch (error) {
    throw new TypeError(`The GCS private key could not be imported as an RSA PKCS#8 key: ${error instanceof Error ? error.message : String(error)}`);
  }
}
