/** The build status at the edge: the origin's passed through, each query asked of the origin at most once per couple of seconds. */

import { describe, it, expect, beforeEach } from 'vitest';
import { STATUS_PATH, type StatusDocument } from '../shared/build-status.ts';
import { originRequests, resetOriginRequests, send } from './test/helpers.ts';
import { STATUS_CACHE_SECONDS } from './routes/status.ts';

beforeEach(async () => {
  await resetOriginRequests();
});

describe('the build status at the edge', () => {
  it("passes the origin's status through, reusing it for a couple of seconds per query", async () => {
    const path = `${STATUS_PATH}?image=shell%2Fstatus-test&tag=latest`;
    const first = await send(path);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('application/json');
    expect(first.headers.get('x-nixedge-cache')).toBe('MISS');
    const document = (await first.json()) as StatusDocument;
    expect(document.inFlight[0]).toMatchObject({ image: 'shell/status-test', tag: 'latest', step: 'realise' });

    const second = await send(path);
    expect(second.headers.get('x-nixedge-cache')).toBe('HIT');
    expect(((await second.json()) as StatusDocument).inFlight[0]?.image).toBe('shell/status-test');
    expect((await send(STATUS_PATH)).headers.get('x-nixedge-cache')).toBe('MISS');
    expect((await originRequests()).map((request) => request.path)).toEqual([path, STATUS_PATH]);

    await new Promise((resolve) => setTimeout(resolve, STATUS_CACHE_SECONDS * 1000 + 500));
    expect((await send(path)).headers.get('x-nixedge-cache')).toBe('MISS');
    expect((await originRequests()).length).toBe(3);
  });
});
