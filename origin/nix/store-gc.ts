/**
 * Collects the Nix store's garbage while the origin runs: every NIX_GC_CHECK_SECONDS the free
 * space of the store's file system is read, and when it is below NIX_GC_MIN_FREE,
 * `nix-store --gc --max-freed <NIX_GC_MAX_FREE - free>` runs (nix's own min-free/max-free
 * semantics, on a schedule rather than only during builds). Nothing a build in progress needs is
 * deleted: builds hold GC roots on their .drv files from evaluation on (evaluate.ts) and on their
 * outputs until their layers are stored (realise.ts), git sources are rooted (git-fetch.ts),
 * running nix processes hold temporary roots, and the moments in between are kept apart from
 * the collection by the store gate (store-gate.ts).
 */

import { statfs } from 'node:fs/promises';
import type { Logger } from '../log.ts';
import { runNix } from './run.ts';
import { storeGate, type StoreGate } from './store-gate.ts';

/** The longest one collection may run before it is stopped (it resumes at the next check). */
const COLLECTION_TIMEOUT_MS = 30 * 60 * 1000;

export interface StoreGcOptions {
  /** The store directory, whose file system is watched (`/nix/store`). */
  storeDir: string;
  /** Collect when fewer bytes than this are free. */
  minFreeBytes: number;
  /** Collect until this many bytes are free (at most). */
  maxFreeBytes: number;
  checkIntervalMs: number;
  logger: Logger;
  /** Default: the process's gate. */
  gate?: StoreGate;
}

/** What one collection did. */
export interface StoreCollection {
  freeBefore: number;
  freeAfter: number;
  durationMs: number;
}

/** Bytes available to the store's writers on its file system. */
export async function freeBytes(path: string): Promise<number> {
  const stats = await statfs(path);
  return stats.bavail * stats.bsize;
}

export class StoreGc {
  readonly #options: StoreGcOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;

  constructor(options: StoreGcOptions) {
    if (options.maxFreeBytes < options.minFreeBytes) {
      throw new RangeError(`Expected NIX_GC_MAX_FREE (${options.maxFreeBytes}) to be at least NIX_GC_MIN_FREE (${options.minFreeBytes})`);
    }
    this.#options = options;
  }

  /** Checks on a schedule until stopped (the timer never keeps the process alive). */
  start(): void {
    this.#timer ??= setInterval(() => this.#tick(), this.#options.checkIntervalMs);
    this.#timer.unref();
  }

  /** Stops checking (a collection under way is left to finish or to die with the process). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One scheduled check, unless the previous one is still running; failures are logged. */
  #tick(): void {
    if (this.#running) return;
    this.#running = this.check()
      .catch((error: unknown) => this.#options.logger.error({ err: error, step: 'nix-gc' }, 'nix store collection failed'))
      .finally(() => {
        this.#running = undefined;
      });
  }

  /** Reads the free space once; below the threshold, collects. Resolves with what it did, or undefined. */
  async check(): Promise<StoreCollection | undefined> {
    const { storeDir, minFreeBytes, maxFreeBytes, logger } = this.#options;
    const freeBefore = await freeBytes(storeDir);
    if (freeBefore >= minFreeBytes) return undefined;
    const maxFreed = maxFreeBytes - freeBefore;
    logger.info({ step: 'nix-gc', freeBytes: freeBefore, minFreeBytes, maxFreed }, 'nix store below NIX_GC_MIN_FREE: collecting garbage');
    const started = performance.now();
    await (this.#options.gate ?? storeGate).exclusive(() =>
      runNix('nix-store', ['--gc', '--max-freed', String(maxFreed)], { signal: AbortSignal.timeout(COLLECTION_TIMEOUT_MS) }),
    );
    const collection = { freeBefore, freeAfter: await freeBytes(storeDir), durationMs: Math.round(performance.now() - started) };
    logger.info({ step: 'nix-gc', ...collection, freedBytes: collection.freeAfter - freeBefore }, 'nix store collected');
    return collection;
  }
}
