/**
 * The origin's metrics from the parts that feed them: the builder's events, storage (failures by
 * kind, bytes written), the queues' gauges; and /metrics behind METRICS_TOKEN or on a port of its own.
 */

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { createMetrics } from './metrics.ts';
import { buildMetrics } from './build-metrics.ts';
import { observeStorage } from './observed-storage.ts';
import { METRICS_PATH, metricsWithToken, startMetricsServer } from './metrics-endpoint.ts';
import { FilesystemStorage } from '../storage/filesystem.ts';
import { StorageError } from '../storage/storage-error.ts';
import type { Storage } from '../storage/storage.ts';
import { registryErrorResponse } from '../../shared/error-response.ts';
import { RegistryError } from '../../shared/errors.ts';

const queues = () => ({ builds: { running: 2, queued: 5 }, evaluations: { running: 1, queued: 0 } });

/** The value of one sample line of the exposition, e.g. `nixedge_builds_total{outcome="built"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('origin metrics', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('counts builds by outcome, times their steps, and counts layer cache hits, misses and compressed bytes', async () => {
    const metrics = createMetrics(queues);
    const observer = buildMetrics(metrics);
    observer.onBuildEvent({ type: 'started', build: 'b', image: 'hello', tag: 'latest', platform: 'linux/amd64', at: 0 });
    observer.onBuildEvent({ type: 'step-done', build: 'b', step: 'realise', durationMs: 1500, ok: true });
    observer.onBuildEvent({ type: 'step-done', build: 'b', step: 'layer', durationMs: 20, ok: true });
    observer.onBuildEvent({ type: 'step-done', build: 'b', step: 'layer', durationMs: 30, ok: false });
    observer.onBuildEvent({ type: 'layer', build: 'b', source: 'cache', bytes: 100 });
    observer.onBuildEvent({ type: 'layer', build: 'b', source: 'built', bytes: 4000 });
    observer.onBuildEvent({ type: 'finished', build: 'b', outcome: 'built', durationMs: 2000, at: 0 });
    observer.onBuildEvent({ type: 'finished', build: 'c', outcome: 'refused', durationMs: 10, at: 0 });
    const text = await metrics.registry.metrics();
    assert.equal(sample(text, 'nixedge_builds_total{outcome="built"}'), 1);
    assert.equal(sample(text, 'nixedge_builds_total{outcome="refused"}'), 1);
    assert.equal(sample(text, 'nixedge_build_duration_seconds_sum{outcome="built"}'), 2);
    assert.equal(sample(text, 'nixedge_build_step_duration_seconds_count{step="realise",result="ok"}'), 1);
    assert.equal(sample(text, 'nixedge_build_step_duration_seconds_sum{step="realise",result="ok"}'), 1.5);
    assert.equal(sample(text, 'nixedge_build_step_duration_seconds_count{step="layer",result="error"}'), 1);
    assert.equal(sample(text, 'nixedge_layer_cache_total{result="hit"}'), 1);
    assert.equal(sample(text, 'nixedge_layer_cache_total{result="miss"}'), 1);
    assert.equal(sample(text, 'nixedge_layer_bytes_compressed_total'), 4000);
    assert.equal(sample(text, 'nixedge_builds_in_flight{queue="build"}'), 2);
    assert.equal(sample(text, 'nixedge_builds_queued{queue="build"}'), 5);
    assert.equal(sample(text, 'nixedge_builds_in_flight{queue="evaluation"}'), 1);
    assert.ok(text.includes('nixedge_origin_process_cpu_seconds_total'), "the process's own metrics");
  });

  it('counts the bytes written to storage and its failures by kind, passing everything else through', async () => {
    const metrics = createMetrics(queues);
    const dir = await mkdtemp(join(tmpdir(), 'nixedge-metrics-'));
    dirs.push(dir);
    const storage = observeStorage(new FilesystemStorage(dir), metrics);
    await storage.writeBytes('cache/a', new Uint8Array(10));
    assert.deepEqual(await storage.writeStream('cache/b', Readable.from([Buffer.alloc(25)])), { size: 25 });
    assert.equal((await storage.readBytes('cache/a'))?.length, 10);
    const failing: Storage = {
      name: 'stand-in',
      stat: () => Promise.reject(new StorageError('unavailable', 'stand-in', 'stat', new Error('down'))),
      read: () => Promise.resolve(undefined),
      readBytes: () => Promise.resolve(undefined),
      writeBytes: () => Promise.resolve(),
      writeStream: () => Promise.resolve({ size: 0 }),
      move: () => Promise.resolve(),
      delete: () => Promise.resolve(),
      list: async function* () {},
    };
    await assert.rejects(observeStorage(failing, metrics).stat('x'), StorageError);
    const text = await metrics.registry.metrics();
    assert.equal(sample(text, 'nixedge_storage_bytes_uploaded_total{backend="filesystem"}'), 35);
    assert.equal(sample(text, 'nixedge_storage_errors_total{backend="stand-in",kind="unavailable",operation="stat"}'), 1);
  });

  it('serves /metrics on the registry port only with the bearer token, and on a port of its own without one', async () => {
    const metrics = createMetrics(queues);
    const app = new Hono();
    app.get(METRICS_PATH, metricsWithToken(metrics, 'metrics-token-0123456789'));
    app.onError((error) => registryErrorResponse(error instanceof RegistryError ? error : new RegistryError('UNKNOWN')));
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', 'Basic bWV0cmljcw==']) {
      const refused = await app.request(METRICS_PATH, authorization === undefined ? {} : { headers: { Authorization: authorization } });
      assert.equal(refused.status, 401, `Authorization: ${authorization}`);
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="nixedge metrics"');
    }
    const served = await app.request(METRICS_PATH, { headers: { Authorization: 'Bearer metrics-token-0123456789' } });
    assert.equal(served.status, 200);
    assert.match(served.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await served.text(), /nixedge_builds_in_flight/);

    const { server, port } = await startMetricsServer(metrics, '127.0.0.1', 0);
    try {
      const open = await fetch(`http://127.0.0.1:${port}${METRICS_PATH}`);
      assert.equal(open.status, 200);
      assert.match(await open.text(), /nixedge_builds_queued/);
      assert.equal((await fetch(`http://127.0.0.1:${port}/v2/`)).status, 404);
    } finally {
      server.close();
    }
  });
});
