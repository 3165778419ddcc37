/**
 * GCS V4 signed URLs made at the edge (GOOG4-RSA-SHA256 with WebCrypto): byte-exact against
 * Google's conformance vectors, verified with the public key of a freshly generated key, and the
 * blob redirect modes `gcs-signed` and `gcs-public` through the Worker in workerd.
 */

import { describe, it, expect, beforeAll, beforeEach } from 'vitest';
import { encodeObjectName, importPrivateKey, signGcsUrl, signGcsUrlParts } from './gcs-signing.ts';
import { CONFORMANCE_CLIENT_EMAIL, CONFORMANCE_GET_VECTORS, CONFORMANCE_PRIVATE_KEY } from './test/gcs-conformance.ts';
import { testServiceAccount, verifyGcsSignedUrl, type TestServiceAccount } from './test/gcs-helpers.ts';
import { testImage } from './test/fixtures.ts';
import { originRequests, postWriteBack, resetOriginRequests, send, writeBackFor } from './test/helpers.ts';

let account: TestServiceAccount;

beforeAll(async () => {
  account = await testServiceAccount();
});

const NOW = new Date('2026-03-14T15:09:26.535Z');
const sign = (overrides: Partial<Parameters<typeof signGcsUrl>[0]> = {}) =>
  signGcsUrl({
    bucket: 'nixedge-layers',
    objectKey: 'layers/0123abcd',
    serviceAccountEmail: account.email,
    privateKeyPem: account.privateKeyPem,
    expirySeconds: 900,
    now: NOW,
    ...overrides,
  });

describe("Google's V4 conformance vectors (googleapis/conformance-tests, GET)", () => {
  for (const vector of CONFORMANCE_GET_VECTORS) {
    it(`${vector.description}: the URL is byte-exact`, async () => {
      const parts = await signGcsUrlParts({
        bucket: vector.bucket,
        objectKey: vector.object,
        serviceAccountEmail: CONFORMANCE_CLIENT_EMAIL,
        privateKeyPem: CONFORMANCE_PRIVATE_KEY,
        expirySeconds: vector.expiration,
        now: new Date(vector.timestamp),
        method: vector.method,
        ...(vector.endpoint && { scheme: vector.endpoint.scheme, host: vector.signedHost ?? vector.endpoint.host }),
      });
      if (vector.signedHost && vector.endpoint) {
        // Google's libraries sign `host:localhost` for http://localhost:8080; nixedge signs (and
        // targets) exactly the host it is given, so given `localhost` the signature is Google's.
        expect(parts.url).toBe(vector.expectedUrl.replace(`//${vector.endpoint.host}/`, `//${vector.signedHost}/`));
      } else {
        expect(parts.url).toBe(vector.expectedUrl);
      }
      if (vector.expectedCanonicalRequest) expect(parts.canonicalRequest).toBe(vector.expectedCanonicalRequest);
      if (vector.expectedStringToSign) expect(parts.stringToSign).toBe(vector.expectedStringToSign);
    });
  }

  it('covers the plain GET cases nixedge relies on', () => {
    expect(CONFORMANCE_GET_VECTORS.map((vector) => vector.description)).toEqual([
      'Simple GET',
      'Vary expiration and timestamp',
      'Vary bucket and object',
      'Forward Slashes should not be stripped',
      'Simple GET with non-default hostname',
      'Emulator host',
      'Universe domain',
    ]);
  });
});

describe('signGcsUrl, verified with the public key', () => {
  it('signs a GET URL that the public key verifies, with the V4 query parameters', async () => {
    const signed = await sign();
    const url = new URL(signed);
    expect(`${url.origin}${url.pathname}`).toBe('https://storage.googleapis.com/nixedge-layers/layers/0123abcd');
    expect([...url.searchParams.keys()]).toEqual([
      'X-Goog-Algorithm',
      'X-Goog-Credential',
      'X-Goog-Date',
      'X-Goog-Expires',
      'X-Goog-SignedHeaders',
      'X-Goog-Signature',
    ]);
    expect(url.searchParams.get('X-Goog-Algorithm')).toBe('GOOG4-RSA-SHA256');
    expect(url.searchParams.get('X-Goog-Credential')).toBe(`${account.email}/20260314/auto/storage/goog4_request`);
    expect(url.searchParams.get('X-Goog-Date')).toBe('20260314T150926Z');
    expect(url.searchParams.get('X-Goog-Expires')).toBe('900');
    expect(url.searchParams.get('X-Goog-SignedHeaders')).toBe('host');
    expect(url.searchParams.get('X-Goog-Signature')).toMatch(/^[0-9a-f]{512}$/);
    const verification = await verifyGcsSignedUrl(signed, account.publicKey);
    expect(verification.valid).toBe(true);
    expect(verification.stringToSign.split('\n').slice(0, 3)).toEqual(['GOOG4-RSA-SHA256', '20260314T150926Z', '20260314/auto/storage/goog4_request']);
  });

  it('fails verification for a tampered URL: another object, expiry, date, method, host or key', async () => {
    const signed = await sign();
    const tampered = [
      signed.replace('/layers/0123abcd?', '/layers/0123abce?'),
      signed.replace('/nixedge-layers/', '/other-bucket/'),
      signed.replace('X-Goog-Expires=900', 'X-Goog-Expires=604800'),
      signed.replace('X-Goog-Date=20260314T150926Z', 'X-Goog-Date=20260315T150926Z'),
    ];
    for (const url of tampered) {
      expect(url).not.toBe(signed);
      expect((await verifyGcsSignedUrl(url, account.publicKey)).valid).toBe(false);
    }
    expect((await verifyGcsSignedUrl(signed, account.publicKey, { method: 'PUT' })).valid).toBe(false);
    expect((await verifyGcsSignedUrl(signed, account.publicKey, { host: 'evil.example' })).valid).toBe(false);
    const other = await testServiceAccount();
    expect((await verifyGcsSignedUrl(signed, other.publicKey)).valid).toBe(false);
  });

  it('percent-encodes the object name (RFC 3986, UTF-8), keeping its slashes, and still verifies', async () => {
    const objectKey = "dir/a b+c!*'(é)~_.-:@/x";
    expect(encodeObjectName(objectKey)).toBe('dir/a%20b%2Bc%21%2A%27%28%C3%A9%29~_.-%3A%40/x');
    const signed = await sign({ objectKey });
    expect(new URL(signed).pathname).toBe('/nixedge-layers/dir/a%20b%2Bc%21%2A%27%28%C3%A9%29~_.-%3A%40/x');
    expect((await verifyGcsSignedUrl(signed, account.publicKey)).valid).toBe(true);
  });

  it('targets and signs another endpoint (an emulator) with its host:port', async () => {
    const signed = await sign({ scheme: 'http', host: '127.0.0.1:9199' });
    expect(signed.startsWith('http://127.0.0.1:9199/nixedge-layers/layers/0123abcd?X-Goog-Algorithm=GOOG4-RSA-SHA256&')).toBe(true);
    expect((await verifyGcsSignedUrl(signed, account.publicKey)).valid).toBe(true);
    expect((await verifyGcsSignedUrl(signed, account.publicKey, { host: 'storage.googleapis.com' })).valid).toBe(false);
    expect((await verifyGcsSignedUrl(signed, account.publicKey, { host: '127.0.0.1' })).valid).toBe(false);
  });

  it('is deterministic for one key and time (RSASSA-PKCS1-v1_5)', async () => {
    expect(await sign()).toBe(await sign());
    expect(await sign({ now: new Date(NOW.getTime() + 1000) })).not.toBe(await sign());
  });

  it('accepts expiries of 1 s to 7 days and refuses others', async () => {
    expect(new URL(await sign({ expirySeconds: 604_800 })).searchParams.get('X-Goog-Expires')).toBe('604800');
    expect(new URL(await sign({ expirySeconds: 1 })).searchParams.get('X-Goog-Expires')).toBe('1');
    for (const expirySeconds of [0, -1, 604_801, 1.5, Number.NaN]) {
      await expect(sign({ expirySeconds })).rejects.toThrow(/expiry/);
    }
  });

  it('imports a key once per isolate, and explains keys it cannot use', async () => {
    expect(await importPrivateKey(account.privateKeyPem)).toBe(await importPrivateKey(account.privateKeyPem));
    // A key pasted with literal \n (as in the JSON text) imports too.
    expect((await importPrivateKey(account.privateKeyPem.replace(/\n/g, '\\n'))).type).toBe('private');
    await expect(sign({ privateKeyPem: '-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n' })).rejects.toThrow(/PKCS#1.*PKCS#8/);
    await expect(sign({ privateKeyPem: 'not a key' })).rejects.toThrow(/not a PKCS#8 PEM key/);
    await expect(sign({ privateKeyPem: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' })).rejects.toThrow(/could not be imported/);
  });
});

describe('blob redirects to GCS', () => {
  const gcsSigned = () => ({ BLOB_REDIRECT: 'gcs-signed', GCS_SERVICE_ACCOUNT_KEY: account.keyFile });

  beforeEach(async () => {
    await resetOriginRequests();
  });

  it('gcs-signed: a known blob GET is a 307 to a V4 signed storage.googleapis.com URL; HEAD is answered here', async () => {
    const image = await testImage('gcs-signed');
    expect((await postWriteBack(JSON.stringify(writeBackFor(image, 'gcs/signed', 'latest', true)))).status).toBe(204);
    const before = Date.now();
    const get = await send(`/v2/gcs/signed/blobs/${image.layer.digest}`, { redirect: 'manual' }, gcsSigned());
    expect(get.status).toBe(307);
    expect(get.headers.get('docker-content-digest')).toBe(image.layer.digest);
    expect(get.headers.get('cache-control')).toContain('private');
    const location = get.headers.get('location') ?? '';
    const url = new URL(location);
    expect(`${url.origin}${url.pathname}`).toBe(`https://storage.googleapis.com/nixedge-gcs-test/layers/${image.layer.digest.slice(7)}`);
    expect(url.searchParams.get('X-Goog-Algorithm')).toBe('GOOG4-RSA-SHA256');
    expect(url.searchParams.get('X-Goog-Expires')).toBe('600');
    expect(url.searchParams.get('X-Goog-Credential')).toMatch(new RegExp(`^${account.email.replace(/\./g, '\\.')}/\\d{8}/auto/storage/goog4_request$`));
    const signedAt = Date.parse(
      (url.searchParams.get('X-Goog-Date') ?? '').replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
    );
    expect(Math.abs(signedAt - before)).toBeLessThan(60_000);
    expect((await verifyGcsSignedUrl(location, account.publicKey)).valid).toBe(true);
    expect((await verifyGcsSignedUrl(location.replace('X-Goog-Expires=600', 'X-Goog-Expires=6000'), account.publicKey)).valid).toBe(false);

    const head = await send(`/v2/gcs/signed/blobs/${image.layer.digest}`, { method: 'HEAD' }, gcsSigned());
    expect(head.status).toBe(200);
    expect(head.headers.get('location')).toBeNull();
    expect(head.headers.get('content-length')).toBe(String(image.layer.size));
    expect(head.headers.get('docker-content-digest')).toBe(image.layer.digest);
    expect(await originRequests()).toEqual([]);
  });

  it('gcs-signed with GCS_ENDPOINT: the URL targets the emulator and signs its host:port', async () => {
    const image = await testImage('gcs-emulator');
    await postWriteBack(JSON.stringify(writeBackFor(image, 'gcs-emulator', 'latest', true)));
    const get = await send(`/v2/gcs-emulator/blobs/${image.config.digest}`, {}, { ...gcsSigned(), GCS_ENDPOINT: 'http://127.0.0.1:9199/' });
    expect(get.status).toBe(307);
    const location = get.headers.get('location') ?? '';
    expect(location.startsWith(`http://127.0.0.1:9199/nixedge-gcs-test/layers/${image.config.digest.slice(7)}?`)).toBe(true);
    expect((await verifyGcsSignedUrl(location, account.publicKey)).valid).toBe(true);
    expect((await verifyGcsSignedUrl(location, account.publicKey, { host: 'storage.googleapis.com' })).valid).toBe(false);
  });

  it('gcs-public: redirects to the public object URL, or to GCS_PUBLIC_URL when set', async () => {
    const image = await testImage('gcs-public');
    await postWriteBack(JSON.stringify(writeBackFor(image, 'gcs-public', 'latest', true)));
    const path = `/v2/gcs-public/blobs/${image.layer.digest}`;
    const plain = await send(path, {}, { BLOB_REDIRECT: 'gcs-public' });
    expect(plain.status).toBe(307);
    expect(plain.headers.get('location')).toBe(`https://storage.googleapis.com/nixedge-gcs-test/layers/${image.layer.digest.slice(7)}`);
    expect(plain.headers.get('cache-control')).toContain('public');
    const custom = await send(path, {}, { BLOB_REDIRECT: 'gcs-public', GCS_PUBLIC_URL: 'https://layers.example.test/' });
    expect(custom.headers.get('location')).toBe(`https://layers.example.test/layers/${image.layer.digest.slice(7)}`);
    const emulator = await send(path, {}, { BLOB_REDIRECT: 'gcs-public', GCS_ENDPOINT: 'http://127.0.0.1:9199' });
    expect(emulator.headers.get('location')).toBe(`http://127.0.0.1:9199/nixedge-gcs-test/layers/${image.layer.digest.slice(7)}`);
  });

  it('answers 500 UNKNOWN saying what to set when GCS is misconfigured, never echoing the key', async () => {
    const image = await testImage('gcs-misconfigured');
    await postWriteBack(JSON.stringify(writeBackFor(image, 'gcs-misconfigured', 'latest', true)));
    const path = `/v2/gcs-misconfigured/blobs/${image.layer.digest}`;
    const secretText = 'super-secret-key-material';
    const cases: [Record<string, string>, RegExp][] = [
      [{ BLOB_REDIRECT: 'gcs-signed' }, /BLOB_REDIRECT=gcs-signed needs GCS_SERVICE_ACCOUNT_KEY/],
      [{ BLOB_REDIRECT: 'gcs-signed', GCS_SERVICE_ACCOUNT_KEY: '' }, /needs GCS_SERVICE_ACCOUNT_KEY/],
      [{ ...gcsSigned(), GCS_BUCKET: '' }, /BLOB_REDIRECT=gcs-signed needs GCS_BUCKET/],
      [{ BLOB_REDIRECT: 'gcs-signed', GCS_SERVICE_ACCOUNT_KEY: `{${secretText}` }, /GCS_SERVICE_ACCOUNT_KEY .*not valid JSON/],
      [{ BLOB_REDIRECT: 'gcs-signed', GCS_SERVICE_ACCOUNT_KEY: JSON.stringify({ private_key: secretText }) }, /client_email.*private_key/],
      [
        {
          BLOB_REDIRECT: 'gcs-signed',
          GCS_SERVICE_ACCOUNT_KEY: JSON.stringify({ client_email: account.email, private_key: `-----BEGIN PRIVATE KEY-----\n${secretText}\n-----END PRIVATE KEY-----\n` }),
        },
        /GCS_SERVICE_ACCOUNT_KEY: The GCS private key/,
      ],
      [{ ...gcsSigned(), GCS_ENDPOINT: 'ftp://127.0.0.1:9199' }, /GCS_ENDPOINT must be an http or https URL/],
      [{ ...gcsSigned(), GCS_ENDPOINT: 'http://127.0.0.1:9199/storage/v1' }, /GCS_ENDPOINT must be a scheme and host/],
      [{ ...gcsSigned(), PRESIGN_EXPIRY_SECONDS: '604801' }, /PRESIGN_EXPIRY_SECONDS/],
      [{ BLOB_REDIRECT: 'gcs-public', GCS_BUCKET: '' }, /BLOB_REDIRECT=gcs-public needs GCS_BUCKET \(or GCS_PUBLIC_URL\)/],
    ];
    for (const [overrides, message] of cases) {
      const response = await send(path, {}, overrides);
      expect(response.status, JSON.stringify(overrides)).toBe(500);
      const body = (await response.json()) as { errors: { code: string; message: string }[] };
      expect(body.errors[0]?.code).toBe('UNKNOWN');
      expect(body.errors[0]?.message).toMatch(/^The edge is misconfigured: /);
      expect(body.errors[0]?.message).toMatch(message);
      expect(body.errors[0]?.message).not.toContain(secretText);
    }
  });
});
