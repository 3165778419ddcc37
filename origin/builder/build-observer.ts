/**
 * What the image builder tells observers about each build while it runs: events, not log lines,
 * so the status page (origin/status/) and the metrics (origin/metrics/) see the same facts the
 * log does without parsing it. A build is one platform's image at one revision, from the moment
 * the caches are asked until it is published, refused or failed. Observers must return at once
 * and never throw (the builder guards them anyway: an observer never fails a build).
 */

import type { BuildOutcome, BuildStepName } from '../../shared/build-status.ts';

export type BuildEvent =
  /** A build began: before the image cache is asked (an evaluation may come first). */
  | { type: 'started'; build: string; image: string; tag: string; platform: string; at: number }
  /** A step began. Layers run several at once: each is a step of its own. */
  | { type: 'step'; build: string; step: BuildStepName }
  /** A step ended, with how long it took and whether it succeeded. */
  | { type: 'step-done'; build: string; step: BuildStepName; durationMs: number; ok: boolean }
  /** The closure was grouped: how many layers the image will have (the customisation layer included). */
  | { type: 'layers'; build: string; total: number }
  /**
   * One layer is done: a store-path layer found in the layer cache (`cache`) or made now
   * (`built`, a layer cache miss), or the image's own top layer (`customisation`, never cached);
   * `bytes` is its compressed size.
   */
  | { type: 'layer'; build: string; source: 'cache' | 'built' | 'customisation'; bytes: number }
  /**
   * The build ended. `cached`: the image cache had it, nothing was built; `built`: published;
   * `refused`: the request's failure (4xx); `failed`: the server's (5xx). With the answer's
   * code, status and message when it did not succeed.
   */
  | {
      type: 'finished';
      build: string;
      outcome: BuildOutcome | 'cached';
      durationMs: number;
      at: number;
      error?: { code: string; status: number; message: string };
    };

export interface BuildObserver {
  onBuildEvent(event: BuildEvent): void;
}

/** One observer telling several, in order. */
export function allOf(...observers: BuildObserver[]): BuildObserver {
  return { onBuildEvent: (event) => observers.forEach((observer) => observer.onBuildEvent(event)) };
}
