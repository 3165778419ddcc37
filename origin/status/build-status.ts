/**
 * The builds the origin has in flight and the last ones that ended, kept from the builder's
 * events (builder/build-observer.ts) for the status JSON (shared/build-status.ts). Builds answered
 * from the image cache leave no trace in `recent`: they built nothing.
 */

import { RECENT_BUILDS_KEPT, type BuildStatusEntry, type QueueStatus, type StatusDocument } from '../../shared/build-status.ts';
import type { BuildEvent, BuildObserver } from '../builder/build-observer.ts';

/** Which builds a snapshot shows (each field unset = any). */
export interface StatusFilter {
  image?: string;
  tag?: string;
  platform?: string;
}

interface Tracked {
  entry: BuildStatusEntry;
  /** Epoch ms when it started. */
  startedAt: number;
}

export class BuildStatus implements BuildObserver {
  readonly #inFlight = new Map<string, Tracked>();
  /** Newest first. */
  readonly #recent: BuildStatusEntry[] = [];
  readonly #keep: number;
  readonly #now: () => number;

  /** Keeps the last `keep` builds that ended; `now` is the clock (epoch ms). */
  constructor(options: { keep?: number; now?: () => number } = {}) {
    this.#keep = options.keep ?? RECENT_BUILDS_KEPT;
    this.#now = options.now ?? Date.now;
  }

  /** Updates the build the event is about. */
  onBuildEvent(event: BuildEvent): void {
    if (event.type === 'started') {
      this.#inFlight.set(event.build, {
        startedAt: event.at,
        entry: {
          id: event.build,
          image: event.image,
          tag: event.tag,
          platform: event.platform,
          step: 'starting',
          startedAt: new Date(event.at).toISOString(),
          elapsedMs: 0,
          layers: { done: 0, total: null, cached: 0 },
          bytesCompressed: 0,
        },
      });
      return;
    }
    const tracked = this.#inFlight.get(event.build);
    if (!tracked) return;
    const { entry } = tracked;
    switch (event.type) {
      case 'step':
        entry.step = event.step;
        break;
      case 'layers':
        entry.layers.total = event.total;
        break;
      case 'layer':
        entry.layers.done += 1;
        if (event.source === 'cache') entry.layers.cached += 1;
        else entry.bytesCompressed += event.bytes;
        break;
      case 'finished': {
        this.#inFlight.delete(event.build);
        if (event.outcome === 'cached') break;
        entry.outcome = event.outcome;
        entry.elapsedMs = Math.round(event.durationMs);
        entry.finishedAt = new Date(event.at).toISOString();
        if (event.error) entry.error = event.error;
        this.#recent.unshift(entry);
        this.#recent.length = Math.min(this.#recent.length, this.#keep);
        break;
      }
      case 'step-done':
        break;
    }
  }

  /** The status document: builds in flight (oldest first) and the last ones, as `filter` selects. */
  snapshot(queues: { builds: QueueStatus; evaluations: QueueStatus }, filter: StatusFilter = {}): StatusDocument {
    const now = this.#now();
    const matches = (entry: BuildStatusEntry): boolean =>
      (filter.image === undefined || entry.image === filter.image) &&
      (filter.tag === undefined || entry.tag === filter.tag) &&
      (filter.platform === undefined || entry.platform === filter.platform);
    const inFlight = [...this.#inFlight.values()]
      .map(({ entry, startedAt }) => structuredClone({ ...entry, elapsedMs: Math.max(0, now - startedAt) }))
      .filter(matches);
    return { generatedAt: new Date(now).toISOString(), queues, inFlight, recent: this.#recent.filter(matches).map((entry) => structuredClone(entry)) };
  }
}
