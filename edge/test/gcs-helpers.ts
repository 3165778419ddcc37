/**
 * Test helpers for GCS V4 signed URLs: a fresh service account key pair, and a verifier that
 * rebuilds the canonical request and string to sign from a URL on its own (as GCS does) and checks
 * the signature with the public key. Written apart from edge/gcs-signing.ts on purpose.
 */

import { fromHex, toHex } from '../../shared/digest.ts';

export interface TestServiceAccount {
  email: string;
  /** PKCS#8 PEM, as in a key file's `private_key`. */
  privateKeyPem: string;
  publicKey: CryptoKey;
  /** The JSON key file, as the GCS_SERVICE_ACCOUNT_KEY secret holds it. */
  keyFile: string;
}

const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/** A new RSA-2048 service account key, made with WebCrypto. */
export async function testServiceAccount(email = 'nixedge-edge@nixedge-test.iam.gserviceaccount.com'): Promise<TestServiceAccount> {
  const pair = await crypto.subtle.generateKey(
    { ...RSA, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ['sign', 'verify'],
  );
  if (!('privateKey' in pair)) throw new Error('Expected an RSA key pair');
  const exported = await crypto.subtle.exportKey('pkcs8', pair.privateKey);
  if (!(exported instanceof ArrayBuffer)) throw new Error('Expected PKCS#8 bytes');
  const pkcs8 = new Uint8Array(exported);
  const base64 = btoa(String.fromCharCode(...pkcs8));
  const privateKeyPem = `-----BEGIN PRIVATE KEY-----\n${base64.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END PRIVATE KEY-----\n`;
  const keyFile = JSON.stringify({
    type: 'service_account',
    project_id: 'nixedge-test',
    private_key_id: '0'.repeat(40),
    private_key: privateKeyPem,
    client_email: email,
    client_id: '0'.repeat(21),
  });
  return { email, privateKeyPem, publicKey: pair.publicKey, keyFile };
}

/** Percent-encodes per RFC 3986 (UTF-8; only A-Z a-z 0-9 - . _ ~ stay). */
function rfc3986(value: string): string {
  const bytes = new TextEncoder().encode(value);
  let out = '';
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** What a verifier makes of a signed URL: its canonical request, string to sign and signature check. */
export interface Verification {
  canonicalRequest: string;
  stringToSign: string;
  valid: boolean;
}

/**
 * Verifies a GOOG4-RSA-SHA256 query-signed URL the way the server does: the canonical request from
 * the method, the URL's path, its query (without X-Goog-Signature, re-encoded and sorted) and the
 * host the client sends (`host`, default the URL's host); then the signature over the string to
 * sign with the public key.
 */
export async function verifyGcsSignedUrl(
  signedUrl: string,
  publicKey: CryptoKey,
  options: { method?: string; host?: string } = {},
): Promise<Verification> {
  const url = new URL(signedUrl);
  const params = [...url.searchParams.entries()];
  const signature = url.searchParams.get('X-Goog-Signature') ?? '';
  const query = params
    .filter(([name]) => name !== 'X-Goog-Signature')
    .map(([name, value]) => `${rfc3986(name)}=${rfc3986(value)}`)
    .sort()
    .join('&');
  const signedHeaders = url.searchParams.get('X-Goog-SignedHeaders');
  if (signedHeaders !== 'host') throw new Error(`Only host is expected to be signed, got ${signedHeaders}`);
  const canonicalRequest = `${options.method ?? 'GET'}\n${url.pathname}\n${query}\nhost:${options.host ?? url.host}\n\nhost\nUNSIGNED-PAYLOAD`;
  const date = url.searchParams.get('X-Goog-Date') ?? '';
  const credential = url.searchParams.get('X-Goog-Credential') ?? '';
  const scope = credential.slice(credential.indexOf('/') + 1);
  const hash = toHex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonicalRequest)));
  const stringToSign = `${url.searchParams.get('X-Goog-Algorithm') ?? ''}\n${date}\n${scope}\n${hash}`;
  const valid =
    /^[0-9a-f]+$/.test(signature) && (await crypto.subtle.verify(RSA.name, publicKey, fromHex(signature) ?? new Uint8Array(), new TextEncoder().encode(stringToSign)));
  return { canonicalRequest, stringToSign, valid };
}
