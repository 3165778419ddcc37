import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { pino } from 'pino';
import { MAX_CLOCK_SKEW_SECONDS, signRequest } from '../../shared/signing.ts';
import { NonceSet } from './nonce-set.ts';
import { errorResponse } from './error-response.ts';
import { pathAndQuery, requireSignature } from './require-signature.ts';

const SECRET = 'test-secret-0123456789abcdef0123456789abcdef';
const DIGEST = `sha256:${'a'.repeat(64)}`;

/** Log lines the middleware wrote, parsed. */
interface Captured {
  lines: Record<string, unknown>[];
}

/** A registry-like app: the middleware on the manifests route, plus open routes. */
function app(secret: string | undefined, captured: Captured = { lines: [] }): Hono {
  const logger = pino({ level: 'info' }, { write: (line: string) => captured.lines.push(JSON.parse(line) as Record<string, unknown>) });
  const hono = new Hono();
  hono.on(['GET', 'HEAD'], '/v2/:name{.+}/manifests/:reference', requireSignature({ secret, logger, nonces: new NonceSet() }), (c) =>
    c.text(`manifest ${c.req.param('reference')}`),
  );
  hono.on(['GET', 'HEAD'], '/v2/:name{.+}/blobs/:digest', (c) => c.text('blob'));
  hono.get('/v2/', (c) => c.json({}));
  hono.onError((error) => errorResponse(error, logger));
  return hono;
}

async function signed(path: string, options: { secret?: string; method?: string; now?: number; signedPath?: string } = {}): Promise<Record<string, string>> {
  const method = options.method ?? 'GET';
  return signRequest(options.secret ?? SECRET, { direction: 'edge-to-origin', method, pathAndQuery: options.signedPath ?? path, body: new Uint8Array(0) }, options.now);
}

async function assertRefused(response: Response, method = 'GET'): Promise<void> {
  assert.equal(response.status, 401);
  if (method === 'HEAD') return; // no body
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await response.json()) as { errors: { code: string; message: string; detail?: unknown }[] };
  assert.equal(body.errors.length, 1);
  assert.equal(body.errors[0]?.code, 'UNAUTHORIZED');
  assert.match(body.errors[0]?.message ?? '', /signed requests/);
  assert.equal(body.errors[0]?.detail, undefined, 'no detail of why');
}

test('a signed request by tag passes (GET and HEAD, query included)', async () => {
  const registry = app(SECRET);
  const path = '/v2/shell/hello/manifests/latest?ns=docker.io';
  const get = await registry.request(path, { headers: await signed(path) });
  assert.equal(get.status, 200);
  assert.equal(await get.text(), 'manifest latest');
  const head = await registry.request(path, { method: 'HEAD', headers: await signed(path, { method: 'HEAD' }) });
  assert.equal(head.status, 200);
});

test('an unsigned request by tag is refused, and the reason is logged', async () => {
  const captured: Captured = { lines: [] };
  const response = await app(SECRET, captured).request('/v2/hello/manifests/latest');
  await assertRefused(response);
  const line = captured.lines.find((l) => l['reason'] === 'missing');
  assert.ok(line, 'the reason is logged');
  assert.equal(line['path'], '/v2/hello/manifests/latest');
});

test('a request signed with another secret is refused', async () => {
  const path = '/v2/hello/manifests/latest';
  const captured: Captured = { lines: [] };
  await assertRefused(await app(SECRET, captured).request(path, { headers: await signed(path, { secret: 'x'.repeat(40) }) }));
  assert.ok(captured.lines.some((l) => l['reason'] === 'forged'));
});

test('a signature made for the other direction (a write-back the origin signed) is refused', async () => {
  const path = '/v2/hello/manifests/latest';
  const headers = await signRequest(SECRET, { direction: 'origin-to-edge', method: 'GET', pathAndQuery: path, body: new Uint8Array(0) });
  const captured: Captured = { lines: [] };
  await assertRefused(await app(SECRET, captured).request(path, { headers }));
  assert.ok(captured.lines.some((l) => l['reason'] === 'forged'));
});

test('a signature for another path (or method) is refused', async () => {
  const registry = app(SECRET);
  await assertRefused(
    await registry.request('/v2/evil/manifests/latest', { headers: await signed('/v2/hello/manifests/latest') }),
  );
  await assertRefused(
    await registry.request('/v2/hello/manifests/latest?ns=x', { headers: await signed('/v2/hello/manifests/latest') }),
  );
  const path = '/v2/hello/manifests/latest';
  await assertRefused(await registry.request(path, { method: 'HEAD', headers: await signed(path, { method: 'GET' }) }), 'HEAD');
});

test('a stale timestamp (> 5 minutes) is refused, in the past or the future', async () => {
  const path = '/v2/hello/manifests/latest';
  const captured: Captured = { lines: [] };
  const registry = app(SECRET, captured);
  const skewMs = (MAX_CLOCK_SKEW_SECONDS + 5) * 1000;
  await assertRefused(await registry.request(path, { headers: await signed(path, { now: Date.now() - skewMs }) }));
  await assertRefused(await registry.request(path, { headers: await signed(path, { now: Date.now() + skewMs }) }));
  assert.equal(captured.lines.filter((l) => l['reason'] === 'stale').length, 2);
  const recent = await registry.request(path, { headers: await signed(path, { now: Date.now() - 60_000 }) });
  assert.equal(recent.status, 200, 'a minute of skew is fine');
});

test('a replayed nonce is refused', async () => {
  const path = '/v2/hello/manifests/latest';
  const captured: Captured = { lines: [] };
  const registry = app(SECRET, captured);
  const headers = await signed(path);
  assert.equal((await registry.request(path, { headers })).status, 200);
  await assertRefused(await registry.request(path, { headers }));
  assert.ok(captured.lines.some((l) => l['reason'] === 'replayed'));
});

test('without a secret nothing is checked', async () => {
  const registry = app(undefined);
  const response = await registry.request('/v2/hello/manifests/latest');
  assert.equal(response.status, 200);
  assert.equal(await response.text(), 'manifest latest');
});

test('pathAndQuery keeps the request target as received', () => {
  assert.equal(pathAndQuery('http://127.0.0.1:8080/v2/hello/manifests/latest?ns=docker.io'), '/v2/hello/manifests/latest?ns=docker.io');
  assert.equal(pathAndQuery('https://origin.example/v2/a%2Fb/manifests/latest'), '/v2/a%2Fb/manifests/latest');
  assert.equal(pathAndQuery('http://host'), '/');
});
