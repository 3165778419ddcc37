/** The status of builds kept from the builder's events: in flight with step and layers, then among the last ones. */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BuildStatus } from './build-status.ts';

const queues = { builds: { running: 1, queued: 0 }, evaluations: { running: 0, queued: 2 } };

describe('BuildStatus', () => {
  it('shows a build in flight with its step, layers done of total, bytes and elapsed time, then among the last ones', () => {
    let now = 1_000_000;
    const status = new BuildStatus({ now: () => now });
    status.onBuildEvent({ type: 'started', build: 'b1', image: 'shell/hello', tag: 'latest', platform: 'linux/amd64', at: now });
    status.onBuildEvent({ type: 'step', build: 'b1', step: 'realise' });
    status.onBuildEvent({ type: 'layers', build: 'b1', total: 4 });
    status.onBuildEvent({ type: 'layer', build: 'b1', source: 'cache', bytes: 500 });
    status.onBuildEvent({ type: 'layer', build: 'b1', source: 'built', bytes: 1200 });
    status.onBuildEvent({ type: 'step', build: 'b1', step: 'layer' });
    now += 2500;
    const during = status.snapshot(queues);
    assert.deepEqual(during.queues, queues);
    assert.equal(during.recent.length, 0);
    assert.deepEqual(during.inFlight, [
      {
        id: 'b1',
        image: 'shell/hello',
        tag: 'latest',
        platform: 'linux/amd64',
        step: 'layer',
        startedAt: new Date(1_000_000).toISOString(),
        elapsedMs: 2500,
        layers: { done: 2, total: 4, cached: 1 },
        bytesCompressed: 1200,
      },
    ]);
    status.onBuildEvent({ type: 'finished', build: 'b1', outcome: 'built', durationMs: 3000.4, at: now });
    const after = status.snapshot(queues);
    assert.equal(after.inFlight.length, 0);
    assert.equal(after.recent[0]?.outcome, 'built');
    assert.equal(after.recent[0]?.elapsedMs, 3000);
  });

  it("keeps a failure's reason, drops builds the image cache answered, keeps only the last ones, and filters", () => {
    const status = new BuildStatus({ keep: 2 });
    const start = (build: string, image: string, tag = 'latest') =>
      status.onBuildEvent({ type: 'started', build, image, tag, platform: 'linux/amd64', at: Date.now() });
    start('cached', 'hello');
    status.onBuildEvent({ type: 'finished', build: 'cached', outcome: 'cached', durationMs: 5, at: Date.now() });
    assert.deepEqual(status.snapshot(queues).recent, [], 'an image cache hit is no build');
    start('broken', 'shell/broken');
    const error = { code: 'MANIFEST_UNKNOWN', status: 400, message: 'broken: nix failed to build broken-1.0 (exit code 1; build broken)' };
    status.onBuildEvent({ type: 'finished', build: 'broken', outcome: 'refused', durationMs: 10, at: Date.now(), error });
    start('a', 'jq');
    status.onBuildEvent({ type: 'finished', build: 'a', outcome: 'built', durationMs: 10, at: Date.now() });
    start('b', 'curl', 'nixos-unstable');
    assert.deepEqual(status.snapshot(queues, { image: 'shell/broken' }).recent.map((entry) => entry.error), [error]);
    assert.deepEqual(status.snapshot(queues, { image: 'curl', tag: 'nixos-unstable' }).inFlight.map((entry) => entry.id), ['b']);
    assert.deepEqual(status.snapshot(queues, { image: 'curl', tag: 'latest' }).inFlight, []);
    status.onBuildEvent({ type: 'finished', build: 'b', outcome: 'failed', durationMs: 10, at: Date.now() });
    assert.deepEqual(status.snapshot(queues).recent.map((entry) => entry.id), ['b', 'a'], 'the last two, newest first');
  });
});
