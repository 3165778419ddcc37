/** The builder's events (builder/build-observer.ts) as metrics: builds by outcome, step durations, layer cache hits, bytes compressed. */

import type { BuildObserver } from '../builder/build-observer.ts';
import type { OriginMetrics } from './metrics.ts';

/** An observer recording every build into `metrics`. */
export function buildMetrics(metrics: OriginMetrics): BuildObserver {
  return {
    onBuildEvent(event) {
      switch (event.type) {
        case 'step-done':
          metrics.stepDuration.observe({ step: event.step, result: event.ok ? 'ok' : 'error' }, event.durationMs / 1000);
          break;
        case 'layer':
          if (event.source !== 'customisation') metrics.layerCache.inc({ result: event.source === 'cache' ? 'hit' : 'miss' });
          if (event.source !== 'cache') metrics.bytesCompressed.inc(event.bytes);
          break;
        case 'finished':
          metrics.builds.inc({ outcome: event.outcome });
          metrics.buildDuration.observe({ outcome: event.outcome }, event.durationMs / 1000);
          break;
        case 'started':
        case 'step':
        case 'layers':
          break;
      }
    },
  };
}
