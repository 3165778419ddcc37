/**
 * End to end: the origin's Prometheus metrics after a real pull through the edge (skopeo, the
 * Worker under wrangler dev, the origin building with nix): the build counted with each of its
 * steps, layer cache misses and bytes, the request by route and status, the write-back to the
 * edge; /metrics behind METRICS_TOKEN on the registry's port and open on METRICS_PORT.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startOrigin, FIXTURE_PKGS, type RunningOrigin } from '../../local-stack/origin-process.ts';
import { startLocalEdge, type LocalEdge } from '../../local-stack/index.ts';
import { freePort } from '../../local-stack/wrangler-dev.ts';
import { skopeoCopy, tempDir } from './clients.ts';

const TOKEN = 'metrics-e2e-token-0123456789abcdef';

/** The value of one series in a Prometheus exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('origin metrics after a pull', () => {
  let local: LocalEdge;
  let origin: RunningOrigin;
  let state: { path: string; cleanup: () => Promise<void> };
  let work: { path: string; cleanup: () => Promise<void> };
  let metricsPort = 0;

  before(async () => {
    state = await tempDir('metrics-state');
    work = await tempDir('metrics-work');
    metricsPort = await freePort();
    local = await startLocalEdge({ persistTo: state.path, originPort: await freePort() });
    origin = await startOrigin({ ...local.originEnv, NIXERY_PKGS_PATH: FIXTURE_PKGS, METRICS_TOKEN: TOKEN, METRICS_PORT: String(metricsPort) });
  });
  after(async () => {
    await origin.stop();
    await local.edge.stop();
    await state.cleanup();
    await work.cleanup();
  });

  it('counts the build with each of its steps, its layers and bytes, the request and the write-back', async () => {
    await skopeoCopy(new URL(local.edge.url).host, 'shell/hello:latest', join(work.path, 'pulled'));
    await origin.waitForLog((line) => line.msg === 'write-back delivered');

    const scraped = await fetch(`${origin.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(scraped.status, 200);
    assert.match(scraped.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await scraped.text();
    assert.equal(sample(text, 'nixedge_builds_total{outcome="built"}'), 1, 'one build');
    for (const step of ['evaluate', 'realise', 'closure-graph', 'customisation-layer', 'publish']) {
      assert.equal(sample(text, `nixedge_build_step_duration_seconds_count{step="${step}",result="ok"}`), 1, `the ${step} step`);
    }
    const layers = sample(text, 'nixedge_build_step_duration_seconds_count{step="layer",result="ok"}') ?? 0;
    assert.equal(layers, origin.steps('layer').length, 'every layer made, as the log counts them');
    assert.ok(layers > 0);
    assert.equal(sample(text, 'nixedge_layer_cache_total{result="miss"}'), layers);
    assert.ok((sample(text, 'nixedge_layer_bytes_compressed_total') ?? 0) > 0, 'bytes compressed');
    assert.ok((sample(text, 'nixedge_storage_bytes_uploaded_total{backend="s3"}') ?? 0) > (sample(text, 'nixedge_layer_bytes_compressed_total') ?? 0), 'bytes uploaded: the layers and more');
    assert.ok((sample(text, 'nixedge_http_requests_total{route="manifests",method="GET",status="200"}') ?? 0) >= 1, 'the pull, by route and status');
    assert.equal(sample(text, 'nixedge_write_backs_total{outcome="delivered"}'), 1, 'the write-back to the edge');
    assert.equal(sample(text, 'nixedge_builds_in_flight{queue="build"}'), 0);
    assert.equal(sample(text, 'nixedge_builds_queued{queue="build"}'), 0);
    assert.equal(sample(text, 'nixedge_http_too_many_requests_total'), undefined, 'no 429 yet');
  });

  it('serves /metrics on the registry port only with METRICS_TOKEN, open on METRICS_PORT, never through the edge', async () => {
    const refused = await fetch(`${origin.url}/metrics`);
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { errors: { code: string }[] }).errors[0]?.code, 'UNAUTHORIZED');
    assert.equal((await fetch(`${origin.url}/metrics`, { headers: { Authorization: 'Bearer not-the-token-0123456789' } })).status, 401);
    const open = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(open.status, 200);
    assert.match(await open.text(), /^nixedge_builds_total\{outcome="built"\} 1$/m);
    const edge = await fetch(`${local.edge.url}/metrics`);
    assert.equal(edge.status, 404);
    await edge.body?.cancel();
  });
});
