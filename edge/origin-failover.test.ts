/**
 * Several origins (ORIGIN_URLS) in workerd: misses spread by rendezvous hashing of name and tag,
 * failover past a refused connection, a hung origin (ORIGIN_TIMEOUT_SECONDS) and a 5xx that is
 * not a registry error, never past the build's own registry error; a failed origin is tried last
 * for a while. The origins are stand-ins (real HTTP servers, edge/test/stand-in-origin.ts: a, b, c).
 */

import { describe, it, expect, beforeEach } from 'vitest';
import { env } from 'cloudflare:test';
import { parseImageName } from '../shared/reference.ts';
import { rendezvousOrder, routingKey } from '../shared/rendezvous.ts';
import { originHealth } from './origin-health.ts';
import { errorCode, send } from './test/helpers.ts';
import { STATUS_PATH, type StatusDocument } from '../shared/build-status.ts';

const standIns = (env as unknown as { STAND_IN_ORIGIN_URLS: string }).STAND_IN_ORIGIN_URLS.split(',');
const [A, B, C] = standIns as [string, string, string];
/** Nothing listens on these ports: connections are refused. */
const DEAD = 'http://127.0.0.1:9';
const DEAD_TOO = 'http://127.0.0.1:1';
const run = crypto.randomUUID().slice(0, 8);

/** The requests a stand-in received since the last reset. */
async function requestsAt(origin: string): Promise<{ method: string; path: string }[]> {
  return (await (await fetch(`${origin}/__requests`)).json()) as { method: string; path: string }[];
}

/** Sets how a stand-in answers ("ok", "hang", "bad-gateway", "registry-unavailable"). */
async function setMode(origin: string, mode: string): Promise<void> {
  expect((await fetch(`${origin}/__mode`, { method: 'PUT', body: mode })).status).toBe(204);
}

/** A fresh image name whose first origin, among `origins`, is `first`. */
async function nameRoutedTo(first: string, origins: readonly string[], label: string): Promise<string> {
  for (let i = 0; ; i++) {
    const name = `${label}${run}x${i}`;
    if ((await rendezvousOrder(routingKey(parseImageName(name).canonical, 'latest'), origins))[0] === first) return name;
  }
}

beforeEach(async () => {
  originHealth.clear();
  for (const origin of standIns) {
    await setMode(origin, 'ok');
    await fetch(`${origin}/__requests`, { method: 'DELETE' });
  }
});

describe('several origins', () => {
  it('sends each image to the origin rendezvous hashing picks, the same one every time, spread over all', async () => {
    const origins = { ORIGIN_URLS: [A, B, C].join(',') };
    const answeredBy = new Map<string, string>();
    for (let i = 0; i < 24; i++) {
      const name = `spread${run}x${i}`;
      const expected = (await rendezvousOrder(routingKey(parseImageName(name).canonical, 'latest'), [A, B, C]))[0];
      // HEAD first: a GET's 404 is remembered at the edge (negative-cache.ts) and answers the HEAD.
      for (const method of ['HEAD', 'GET']) {
        const response = await send(`/v2/${name}/manifests/latest`, { method }, origins);
        expect(response.headers.get('x-nixedge-cache')).toBe('MISS');
        const standIn = response.headers.get('x-stand-in') ?? '';
        expect(`${name} ${standIn}`).toBe(`${name} ${'abc'[[A, B, C].indexOf(expected ?? '')]}`);
        answeredBy.set(name, standIn);
      }
    }
    expect(new Set(answeredBy.values())).toEqual(new Set(['a', 'b', 'c']));
    const received = (await Promise.all([A, B, C].map(requestsAt))).flat();
    expect(received).toHaveLength(48); // each request once, at one origin
  });

  it('tries the next origin when the first refuses the connection', async () => {
    const origins = [DEAD, A];
    const name = await nameRoutedTo(DEAD, origins, 'refused');
    const response = await send(`/v2/${name}/manifests/latest`, {}, { ORIGIN_URLS: origins.join(',') });
    expect(response.status).toBe(404);
    expect(response.headers.get('x-stand-in')).toBe('a');
    expect(await errorCode(response)).toBe('MANIFEST_UNKNOWN');
  });

  it('skips a hung origin after ORIGIN_TIMEOUT_SECONDS, then tries it last for a while', async () => {
    const origins = [A, B];
    const bindings = { ORIGIN_URLS: origins.join(','), ORIGIN_TIMEOUT_SECONDS: '1' };
    await setMode(B, 'hang');
    const first = await nameRoutedTo(B, origins, 'hungfirst');
    let started = Date.now();
    const answer = await send(`/v2/${first}/manifests/latest`, {}, bindings);
    expect(answer.headers.get('x-stand-in')).toBe('a');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeLessThan(3000);

    const second = await nameRoutedTo(B, origins, 'hungsecond');
    started = Date.now();
    const again = await send(`/v2/${second}/manifests/latest`, {}, bindings);
    expect(again.headers.get('x-stand-in')).toBe('a');
    expect(Date.now() - started).toBeLessThan(900); // no second wait on the hung origin
    expect((await requestsAt(B)).map((r) => r.path)).toEqual([`/v2/${first}/manifests/latest`]);
  });

  it('tries the next origin on a 5xx that is not a registry error (a proxy in front of a dead origin)', async () => {
    const origins = [A, B];
    await setMode(B, 'bad-gateway');
    const name = await nameRoutedTo(B, origins, 'badgateway');
    for (const method of ['GET', 'HEAD']) {
      originHealth.clear();
      const response = await send(`/v2/${name}/manifests/latest`, { method }, { ORIGIN_URLS: origins.join(',') });
      expect(response.headers.get('x-stand-in')).toBe('a');
      expect(response.status).toBe(404);
    }
  });

  it("answers the build's own registry error (503 UNAVAILABLE) as the origin gave it, without asking another", async () => {
    const origins = [A, B];
    await setMode(B, 'registry-unavailable');
    const name = await nameRoutedTo(B, origins, 'buildfailed');
    const response = await send(`/v2/${name}/manifests/latest`, {}, { ORIGIN_URLS: origins.join(',') });
    expect(response.status).toBe(503);
    expect(response.headers.get('x-stand-in')).toBe('b');
    expect(response.headers.get('retry-after')).toBe('30');
    expect(await errorCode(response)).toBe('UNAVAILABLE');
    expect(await requestsAt(A)).toEqual([]);
    const head = await send(`/v2/${name}/manifests/latest`, { method: 'HEAD' }, { ORIGIN_URLS: origins.join(',') });
    expect([head.status, head.headers.get('x-stand-in')]).toEqual([503, 'b']);
  });

  it('answers 503 UNAVAILABLE with Retry-After when no origin answers', async () => {
    const response = await send(`/v2/nowhere${run}/manifests/latest`, {}, { ORIGIN_URLS: `${DEAD}, ${DEAD_TOO}` });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('30');
    const body = (await response.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]?.code).toBe('UNAVAILABLE');
    expect(body.errors[0]?.message).toContain('No origin answered (2 could not be reached)');
  });

  it('ORIGIN_URLS replaces ORIGIN_URL; a URL that is not one is a misconfigured edge', async () => {
    const name = await nameRoutedTo(C, [C], 'replaces');
    expect((await send(`/v2/${name}/manifests/latest`, {}, { ORIGIN_URLS: ` ${C}/ ` })).headers.get('x-stand-in')).toBe('c');
    const bad = await send(`/v2/${name}x/manifests/latest`, {}, { ORIGIN_URLS: `${A},not a url` });
    expect(bad.status).toBe(500);
    expect(((await bad.json()) as { errors: { message: string }[] }).errors[0]?.message).toContain('ORIGIN_URLS');
  });

  it("shows one image's builds from the origin its pulls go to, and the registry's builds from every origin that answers, merged", async () => {
    const origins = [A, B, C, DEAD];
    const bindings = { ORIGIN_URLS: origins.join(',') };
    const name = await nameRoutedTo(B, origins, 'status');
    const one = (await (await send(`${STATUS_PATH}?image=${name}&tag=latest`, {}, bindings)).json()) as StatusDocument;
    expect(one.inFlight.map((build) => build.id)).toEqual(['stand-in-b']);
    expect((await requestsAt(A)).concat(await requestsAt(C))).toEqual([]);

    const all = await send(`${STATUS_PATH}?run=${run}`, {}, bindings);
    expect(all.status).toBe(200);
    const merged = (await all.json()) as StatusDocument;
    expect(merged.inFlight.map((build) => build.id).sort()).toEqual(['stand-in-a', 'stand-in-b', 'stand-in-c']);
    expect(merged.queues.builds).toEqual({ running: 3, queued: 0 });
  });
});
