/**
 * End to end: the build status while a build runs, read through the edge (the real Worker under
 * wrangler dev, passing the origin's status through) and at the origin: the slow fixture package
 * (its build sleeps) is in flight at its step, then among the last builds with the reason its
 * client got; a build that succeeds shows every layer done.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, FIXTURE_PKGS, type RunningOrigin } from '../../local-stack/origin-process.ts';
import { startLocalEdge, type LocalEdge } from '../../local-stack/index.ts';
import { freePort } from '../../local-stack/wrangler-dev.ts';
import { STATUS_PATH, type BuildStatusEntry, type StatusDocument } from '../../shared/build-status.ts';
import { processesRunning, tempDir } from './clients.ts';

/** Reads the status document at `base` (the edge or the origin). */
async function status(base: string, query = ''): Promise<StatusDocument> {
  const response = await fetch(`${base}${STATUS_PATH}${query}`);
  assert.equal(response.status, 200, `${base}${STATUS_PATH}${query}`);
  return (await response.json()) as StatusDocument;
}

/** Polls the status at `base` until `found` picks a build, within 30 s. */
async function waitForBuild(base: string, found: (document: StatusDocument) => BuildStatusEntry | undefined): Promise<BuildStatusEntry> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const entry = found(await status(base));
    if (entry) return entry;
    assert.ok(Date.now() < deadline, `the build showed in ${base}${STATUS_PATH} within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('the build status', () => {
  let local: LocalEdge;
  let origin: RunningOrigin;
  let state: { path: string; cleanup: () => Promise<void> };

  before(async () => {
    state = await tempDir('status-state');
    local = await startLocalEdge({ persistTo: state.path, originPort: await freePort() });
    origin = await startOrigin({ ...local.originEnv, NIXERY_PKGS_PATH: FIXTURE_PKGS, NIX_TIMEOUT: '8' });
  });
  after(async () => {
    await origin.stop();
    await local.edge.stop();
    await state.cleanup();
  });

  it('shows a slow build in flight at its step through the edge, then its failure with the reason its client got', async () => {
    const pull = fetch(`${local.edge.url}/v2/slow/manifests/latest`);
    const inFlight = await waitForBuild(local.edge.url, (document) => document.inFlight.find((build) => build.image === 'slow' && build.step === 'realise'));
    assert.equal(inFlight.tag, 'latest');
    assert.equal(inFlight.platform, 'linux/amd64');
    assert.equal(inFlight.outcome, undefined);
    assert.ok(inFlight.elapsedMs >= 0);
    assert.deepEqual(inFlight.layers, { done: 0, total: null, cached: 0 }, 'no layers before the closure is built');
    const direct = await status(origin.url, '?image=slow&tag=latest');
    assert.deepEqual(direct.inFlight.map((build) => [build.id, build.step]), [[inFlight.id, 'realise']], 'the origin shows it too');
    assert.equal(direct.queues.builds.running, 1);

    const answer = await pull;
    assert.equal(answer.status, 503);
    const message = ((await answer.json()) as { errors: { message: string }[] }).errors[0]?.message ?? '';
    assert.match(message, /NIX_TIMEOUT/);
    const ended = await waitForBuild(origin.url, (document) => document.recent.find((build) => build.id === inFlight.id));
    assert.equal(ended.outcome, 'failed');
    assert.deepEqual(ended.error, { code: 'UNAVAILABLE', status: 503, message });
    assert.ok(ended.elapsedMs >= 7000, `it ran until the timeout (${ended.elapsedMs} ms)`);
    await new Promise((resolve) => setTimeout(resolve, 4000)); // nix's SIGTERM grace, then SIGKILL
    assert.deepEqual(await processesRunning('sleep 1000'), [], 'no build process outlives the timeout');
  });

  it('shows a build that succeeds with every layer done and the bytes it compressed, found by the name in any order', async () => {
    assert.equal((await fetch(`${local.edge.url}/v2/shell/jq/manifests/latest`, { method: 'HEAD' })).status, 200);
    const built = await waitForBuild(origin.url, (document) => document.recent.find((build) => build.image === 'shell/jq'));
    assert.equal(built.outcome, 'built');
    assert.equal(built.step, 'publish');
    assert.ok(built.layers.total !== null && built.layers.total > 1);
    assert.equal(built.layers.done, built.layers.total);
    assert.ok(built.bytesCompressed > 0);
    assert.equal(built.error, undefined);
    const before = (await status(origin.url, '?image=jq/shell')).recent.length;
    assert.equal(before, 1, 'the name in another order is the same image');
  });
});
