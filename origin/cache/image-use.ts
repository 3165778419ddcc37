/**
 * When images were last used, for bucket GC (origin/gc/): each time a pull resolves to a manifest
 * (a tag to its image, or a manifest by digest), the marker `cache/used/<manifest hex>` is
 * rewritten, so its last write is the manifest's "used" time. At most once per TOUCH_INTERVAL_MS
 * per manifest and process: a busy image costs one small write an hour, and GC's `--older-than`
 * is days. Touches run in the background: a pull never waits for one, and a failed touch is
 * logged, never a pull's failure (the image only looks older to GC than it is).
 */

import { LRUCache } from 'lru-cache';
import type { Digest } from '../../shared/digest.ts';
import { usedMarkerKey } from '../../shared/keys.ts';
import type { Logger } from '../log.ts';
import type { Storage } from '../storage/storage.ts';

/** The most often one process rewrites one manifest's marker. */
export const TOUCH_INTERVAL_MS = 60 * 60 * 1000;

export class ImageUse {
  readonly #storage: Storage;
  readonly #logger: Logger;
  /** Manifests this process touched within the interval (their markers are fresh enough). */
  readonly #recent: LRUCache<Digest, true>;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(storage: Storage, logger: Logger, options: { intervalMs?: number } = {}) {
    this.#storage = storage;
    this.#logger = logger;
    this.#recent = new LRUCache<Digest, true>({ max: 100_000, ttl: options.intervalMs ?? TOUCH_INTERVAL_MS });
  }

  /** Marks these manifests used now, in the background (unless this process did within the interval). */
  touch(digests: readonly Digest[]): void {
    for (const digest of new Set(digests)) {
      if (this.#recent.has(digest)) continue;
      this.#recent.set(digest, true);
      const touching = this.#storage
        .writeBytes(usedMarkerKey(digest), new TextEncoder().encode(`${new Date().toISOString()}\n`))
        .catch((error: unknown) => {
          this.#recent.delete(digest); // try again with the next pull
          this.#logger.warn({ err: error, manifest: digest }, 'could not record that an image was used (bucket GC may see it older than it is)');
        })
        .finally(() => this.#inFlight.delete(touching));
      this.#inFlight.add(touching);
    }
  }

  /** Resolves once every touch started so far has finished (tests, shutdown). */
  async drain(): Promise<void> {
    await Promise.all([...this.#inFlight]);
  }
}
