/**
 * Golden vectors for the edge <-> origin signature (shared/signing.ts). The edge and the origin
 * are deployed separately: a change to the signed string or its encoding must fail here, not in
 * production, so the inputs and outputs are written out in full, and the HMAC is recomputed with
 * Node's own crypto as an independent check.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { canonicalString, signRequest, verifyRequest, SIGNATURE_HEADERS } from './signing.ts';

const SECRET = 'golden-secret-0123456789abcdef-0123456789';
const TIMESTAMP = '1767225600'; // 2026-01-01T00:00:00Z
const NONCE = '0b9e6c1c-2f1e-4c52-9f4e-6d2b5a1c9e77';
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

const VECTORS = [
  {
    what: 'a miss the edge forwards (GET, query kept, empty body)',
    parts: { method: 'GET', pathAndQuery: '/v2/shell/hello/manifests/latest?ns=docker.io', body: encode('') },
    canonical:
      'nixedge-hmac-v1\nGET\n/v2/shell/hello/manifests/latest?ns=docker.io\n1767225600\n0b9e6c1c-2f1e-4c52-9f4e-6d2b5a1c9e77\n' +
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    signature: '80cb2e7af70ecc1050c3567aead3addee9b2a1891a5cddaca7d7f050e7edf249',
  },
  {
    what: 'a write-back the origin sends (POST with a body)',
    parts: { method: 'POST', pathAndQuery: '/_nixedge/write-back', body: encode('{"manifests":[],"blobs":[]}') },
    canonical:
      'nixedge-hmac-v1\nPOST\n/_nixedge/write-back\n1767225600\n0b9e6c1c-2f1e-4c52-9f4e-6d2b5a1c9e77\n' +
      '2d1e82c870b0f6ec30b4295eb7e79b7e681aff60b1633a9f29c1b2e52c49226c',
    signature: '41fca49b3228e683d8a0b27b48b89560de85dd2dcfba5f77f207a52b0b174f08',
  },
];

describe('request signatures: golden vectors', () => {
  for (const vector of VECTORS) {
    it(`signs ${vector.what} exactly as written down`, async () => {
      assert.equal(await canonicalString(vector.parts, TIMESTAMP, NONCE), vector.canonical);
      assert.equal(createHmac('sha256', SECRET).update(vector.canonical).digest('hex'), vector.signature, 'HMAC-SHA256 of the canonical string');
      const headers: Record<string, string> = { [SIGNATURE_HEADERS.timestamp]: TIMESTAMP, [SIGNATURE_HEADERS.nonce]: NONCE, [SIGNATURE_HEADERS.signature]: vector.signature };
      const verified = await verifyRequest(SECRET, vector.parts, (name) => headers[name], Number(TIMESTAMP) * 1000);
      assert.deepEqual(verified, { ok: true, nonce: NONCE, timestamp: Number(TIMESTAMP) });
    });
  }

  it('signRequest produces headers an independent HMAC over the canonical string confirms', async () => {
    const [vector] = VECTORS;
    assert.ok(vector);
    const headers = await signRequest(SECRET, vector.parts, Number(TIMESTAMP) * 1000 + 999);
    assert.equal(headers[SIGNATURE_HEADERS.timestamp], TIMESTAMP, 'whole seconds, rounded down');
    const nonce = headers[SIGNATURE_HEADERS.nonce] ?? '';
    assert.match(nonce, /^[0-9a-f-]{36}$/);
    const text = await canonicalString(vector.parts, TIMESTAMP, nonce);
    assert.equal(headers[SIGNATURE_HEADERS.signature], createHmac('sha256', SECRET).update(text).digest('hex'));
  });
});
