/**
 * The origin's Prometheus metrics (prom-client), all in one registry: what an operator of a
 * public registry needs to see it work. The README lists them. Names are `nixedge_*`; the
 * process's own (CPU, memory, event loop lag, ...) are `nixedge_origin_*`.
 */

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueueStatus } from '../../shared/build-status.ts';

/** Seconds: from a cached answer to a long nix build. */
const DURATION_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

export interface OriginMetrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  requestDuration: Histogram<'route'>;
  tooManyRequests: Counter<'route'>;
  builds: Counter<'outcome'>;
  buildDuration: Histogram<'outcome'>;
  stepDuration: Histogram<'step' | 'result'>;
  layerCache: Counter<'result'>;
  bytesCompressed: Counter;
  bytesUploaded: Counter<'backend'>;
  storageErrors: Counter<'backend' | 'kind' | 'operation'>;
  writeBacks: Counter<'outcome'>;
}

/** A fresh registry with every metric; `queues` is read at each scrape for the slots' gauges. */
export function createMetrics(queues: () => { builds: QueueStatus; evaluations: QueueStatus }): OriginMetrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: 'nixedge_origin_' });
  const perQueue = (read: (queue: QueueStatus) => number) =>
    function collect(this: Gauge<'queue'>): void {
      const { builds, evaluations } = queues();
      this.set({ queue: 'build' }, read(builds));
      this.set({ queue: 'evaluation' }, read(evaluations));
    };
  new Gauge({ name: 'nixedge_builds_in_flight', help: 'Builds (queue="build": realise, layers) and evaluations running now', labelNames: ['queue'], registers, collect: perQueue((queue) => queue.running) });
  new Gauge({ name: 'nixedge_builds_queued', help: 'Builds and evaluations waiting for a slot', labelNames: ['queue'], registers, collect: perQueue((queue) => queue.queued) });
  return {
    registry,
    requests: new Counter({ name: 'nixedge_http_requests_total', help: 'Requests answered, by route, method and status', labelNames: ['route', 'method', 'status'], registers }),
    requestDuration: new Histogram({ name: 'nixedge_http_request_duration_seconds', help: 'Time to the answer\'s headers, by route', labelNames: ['route'], buckets: DURATION_BUCKETS, registers }),
    tooManyRequests: new Counter({ name: 'nixedge_http_too_many_requests_total', help: 'Requests refused with 429 (build or evaluation queue full), by route', labelNames: ['route'], registers }),
    builds: new Counter({ name: 'nixedge_builds_total', help: 'Builds ended, by outcome: built, cached (the image cache had it), refused (the request\'s failure, 4xx), failed (the server\'s, 5xx)', labelNames: ['outcome'], registers }),
    buildDuration: new Histogram({ name: 'nixedge_build_duration_seconds', help: 'Whole builds, from the caches to the answer, by outcome', labelNames: ['outcome'], buckets: DURATION_BUCKETS, registers }),
    stepDuration: new Histogram({ name: 'nixedge_build_step_duration_seconds', help: 'Build steps (fetch-source, evaluate, realise, closure-graph, layer, customisation-layer, publish), by step and result', labelNames: ['step', 'result'], buckets: DURATION_BUCKETS, registers }),
    layerCache: new Counter({ name: 'nixedge_layer_cache_total', help: 'Layers looked up in the layer cache: hit (reused) or miss (made)', labelNames: ['result'], registers }),
    bytesCompressed: new Counter({ name: 'nixedge_layer_bytes_compressed_total', help: 'Compressed bytes of the layers made', registers }),
    bytesUploaded: new Counter({ name: 'nixedge_storage_bytes_uploaded_total', help: 'Bytes written to storage (layers, configs, manifests, cache entries), by backend', labelNames: ['backend'], registers }),
    storageErrors: new Counter({ name: 'nixedge_storage_errors_total', help: 'Storage operations that failed, by backend, kind (unavailable, not-found, denied, misconfigured) and operation', labelNames: ['backend', 'kind', 'operation'], registers }),
    writeBacks: new Counter({ name: 'nixedge_write_backs_total', help: 'Write-backs to the edge, by outcome: delivered, failed (after every attempt), dropped (too many pending)', labelNames: ['outcome'], registers }),
  };
}
