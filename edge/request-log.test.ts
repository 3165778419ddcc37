/** The edge's request log: one JSON line per request with its route, cache status, status, KV reads and duration. */

import { describe, it, expect, vi, afterEach } from 'vitest';
import { testImage } from './test/fixtures.ts';
import { postWriteBack, send, writeBackFor } from './test/helpers.ts';
import type { RequestLogLine } from './request-log.ts';

/** The request lines logged while `run` ran. */
async function logged(run: () => Promise<unknown>): Promise<RequestLogLine[]> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    await run();
    return log.mock.calls
      .map(([first]) => (typeof first === 'string' && first.startsWith('{') ? (JSON.parse(first) as RequestLogLine) : undefined))
      .filter((line): line is RequestLogLine => line?.msg === 'request');
  } finally {
    log.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('the request log', () => {
  it('logs a hit by tag with its two KV reads, a miss through the origin, and routes without a cache', async () => {
    const image = await testImage('logged');
    expect((await postWriteBack(JSON.stringify(writeBackFor(image, 'logged', 'latest', false)))).status).toBe(204);
    const lines = await logged(async () => {
      await send('/v2/logged/manifests/latest');
      await send('/v2/hello/manifests/latest', { method: 'HEAD' });
      await send('/');
      await send('/v2/Nope/manifests/latest');
    });
    expect(lines).toHaveLength(4);
    const [hit, miss, page, invalid] = lines;
    expect(hit).toMatchObject({ method: 'GET', route: 'manifests', path: '/v2/logged/manifests/latest', status: 200, cache: 'HIT', kvReads: 2 });
    expect(miss).toMatchObject({ method: 'HEAD', route: 'manifests', status: 200, cache: 'MISS', kvReads: 1 });
    expect(page).toMatchObject({ route: 'front-page', status: 200, cache: null, kvReads: 0 });
    expect(invalid).toMatchObject({ route: 'manifests', status: 400, cache: null, kvReads: 0 });
    for (const line of lines) expect(typeof line.durationMs).toBe('number');
  });

  it('logs nothing per request with REQUEST_LOG=off, and still answers', async () => {
    const lines = await logged(async () => {
      expect((await send('/v2/hello/manifests/latest', { method: 'HEAD' }, { REQUEST_LOG: 'off' })).status).toBe(200);
      expect((await send('/', {}, { REQUEST_LOG: 'off' })).status).toBe(200);
    });
    expect(lines).toEqual([]);
  });
});
