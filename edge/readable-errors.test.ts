/**
 * Errors a person can read, at the edge: the origin's refusal passed through is a page for a
 * browser and stays JSON for registry clients, also when the edge answers it from its memory of
 * refusals (the page is made per request, never remembered).
 */

import { describe, it, expect } from 'vitest';
import { errorCode, send } from './test/helpers.ts';

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('readable errors at the edge', () => {
  it("turns the origin's refusal into a page for a browser, and a client asking next still gets the JSON", async () => {
    const path = '/v2/readable-missing/manifests/latest';
    const page = await send(path, { headers: { Accept: BROWSER } });
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('x-nixedge-cache')).toBe('MISS');
    const html = await page.text();
    expect(html).toContain('MANIFEST_UNKNOWN');
    expect(html).toContain('docker pull edge.example.test/readable-missing');

    const client = await send(path);
    expect(client.status).toBe(404);
    expect(client.headers.get('content-type')).toMatch(/^application\/json/);
    expect(client.headers.get('x-nixedge-cache')).toBe('HIT');
    expect(await errorCode(client)).toBe('MANIFEST_UNKNOWN');

    const again = await send(path, { headers: { Accept: BROWSER } });
    expect(again.headers.get('content-type')).toMatch(/^text\/html/);
  });
});
