/**
 * Golden vectors for the edge <-> origin signature (shared/signing.ts). The edge and the origin
 * are deployed separately: a change to the signed string or its encoding must fail here, not in
 * production, so the inputs and outputs are written out in full, and the HMAC is recomputed with
 * Node's own crypto as an independent check.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { canonicalString, signRequest, verifyRequest, SIGNATURE_HEADERS, type SignedParts } from './signing.ts';

const SECRET = 'golden-secret-0123456789abcdef-0123456789';
const TIMESTAMP = '1767225600'; // 2026-01-01T00:00:00Z
const NONCE = '0b9e6c1c-2f1e-4c52-9f4e-6d2b5a1c9e77';
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

const VECTORS: { what: string; parts: SignedParts; canonical: string; signature: string }[] = [
  {
    what: 'a miss the edge forwards (GET, query kept, empty body)',
    parts: { direction: 'edge-to-origin', method: 'GET', pathAndQuery: '/v2/shell/hello/manifests/latest?ns=docker.io', body: encode('') },
    canonical:
      'nixedge-hmac-v2\nedge-to-origin\nGET\n/v2/shell/hello/manifests/latest?ns=docker.io\n1767225600\n0b9e6c1c-2f1e-4c52-9f4e-6d2b5a1c9e77\n' +
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    signature: 'c4dc93cfe2a9b1c14ee713a1897ebcb0b087d455d5ecc763e0ff44e3ba52ce8e',
  },
  {
    what: 'a write-back the origin sends (POST with a body)',
    parts: { direction: 'origin-to-edge', method: 'POST', pathAndQuery: '/_nixedge/write-back', body: encode('{"manifests":[],"blobs":[]}') },
    canonical:
      'nixedge-hmac-v2\norigin-to-edge\nPOST\n/_nixedge/write-back\n1767225600\n0b9e6c1c-2f1e-4c52-9f4e-6d2b5a1c9e77\n' +
      '2d1e82c870b0f6ec30b4295eb7e79b7e681aff60b1633a9f29c1b2e52c49226c',
    signature: 'e1200d9816860ba75dfc623ea57e4514ca1477415b3730fe1bdc108c64e6b1a6',
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

describe('request signatures: direction', () => {
  it('a signature made for one direction is refused in the other, whatever else matches', async () => {
    const parts: SignedParts = { direction: 'origin-to-edge', method: 'POST', pathAndQuery: '/_nixedge/write-back', body: encode('{}') };
    const headers = await signRequest(SECRET, parts);
    const header = (name: string) => headers[name];
    assert.equal((await verifyRequest(SECRET, parts, header)).ok, true);
    assert.deepEqual(await verifyRequest(SECRET, { ...parts, direction: 'edge-to-origin' }, header), { ok: false, reason: 'forged' });
  });
});
