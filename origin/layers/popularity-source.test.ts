/** NIX_POPULARITY_URL read from a file, a file:// URL and over HTTP (a real local server). */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadPopularity } from './popularity-source.ts';

const POPULARITY = { 'glibc-2.38-27': 302571, 'zlib-1.3': 98000, 'hello-2.12.1': 2 };

describe('loadPopularity', () => {
  let dir = '';
  let server: Server;
  let base = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nixedge-popularity-'));
    await writeFile(join(dir, 'popularity.json'), JSON.stringify(POPULARITY));
    await writeFile(join(dir, 'broken.json'), '{"glibc": "many"}');
    server = createServer((request, response) => {
      if (request.url === '/popularity.json') response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(POPULARITY));
      else if (request.url === '/not-json') response.writeHead(200).end('<html>');
      else response.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the same data from a file path, a file:// URL and over HTTP', async () => {
    const expected = new Map(Object.entries(POPULARITY));
    assert.deepEqual(await loadPopularity(join(dir, 'popularity.json')), expected);
    assert.deepEqual(await loadPopularity(pathToFileURL(join(dir, 'popularity.json')).href), expected);
    assert.deepEqual(await loadPopularity(`${base}/popularity.json`), expected);
  });

  it('no location is no data', async () => {
    assert.deepEqual(await loadPopularity(undefined), new Map());
  });

  it('a missing file, an HTTP error, something that is not JSON, or wrong counts fail naming NIX_POPULARITY_URL', async () => {
    const cases: [string, RegExp][] = [
      [join(dir, 'missing.json'), /ENOENT/],
      [`${base}/missing.json`, /HTTP 404/],
      [`${base}/not-json`, /JSON/],
      [join(dir, 'broken.json'), /popularity of "glibc"/],
    ];
    for (const [location, reason] of cases) {
      await assert.rejects(loadPopularity(location), (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, /^NIX_POPULARITY_URL \(/);
        assert.match(error.message, reason);
        return true;
      });
    }
  });
});
