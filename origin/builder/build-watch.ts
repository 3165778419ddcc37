/**
 * One build as its observer sees it: the builder reports steps, layers and the ending here, and
 * this turns them into BuildEvents (./build-observer.ts) and the step log lines (log.ts `timed`).
 * An observer that throws is logged and ignored: watching never fails a build.
 */

import type { BuildStepName } from '../../shared/build-status.ts';
import type { RegistryError } from '../../shared/errors.ts';
import { timed, type Logger } from '../log.ts';
import { StorageError, storageRegistryError } from '../storage/storage-error.ts';
import type { BuildEvent, BuildObserver } from './build-observer.ts';

export class BuildWatch {
  readonly #observer: BuildObserver | undefined;
  readonly #build: string;
  readonly #logger: Logger;
  readonly #info: { image: string; tag: string; platform: string };
  /** When start() was called; undefined before (nothing is reported then). */
  #startedAt: number | undefined;

  constructor(observer: BuildObserver | undefined, logger: Logger, build: { id: string; image: string; tag: string; platform: string }) {
    this.#observer = observer;
    this.#build = build.id;
    this.#logger = logger;
    this.#info = build;
  }

  /** The build begins (after a remembered refusal would have answered, so those are no builds). */
  start(): void {
    this.#startedAt = performance.now();
    this.#emit({ type: 'started', build: this.#build, image: this.#info.image, tag: this.#info.tag, platform: this.#info.platform, at: Date.now() });
  }

  /** The build waits for a slot (evaluation or build) before its next step. */
  waiting(): void {
    this.#emit({ type: 'step', build: this.#build, step: 'queued' });
  }

  /**
   * Runs one step: its start and end are events, and it is logged with its duration (`log: false`
   * when the caller writes the step's log line itself).
   */
  async step<T>(step: BuildStepName, run: () => Promise<T>, fields: Record<string, unknown> = {}, options: { log?: boolean } = {}): Promise<T> {
    this.#emit({ type: 'step', build: this.#build, step });
    const started = performance.now();
    let ok = false;
    try {
      const result = await (options.log === false ? run() : timed(this.#logger, step, run, fields));
      ok = true;
      return result;
    } finally {
      this.#emit({ type: 'step-done', build: this.#build, step, durationMs: performance.now() - started, ok });
    }
  }

  /** The image will have `total` layers. */
  layers(total: number): void {
    this.#emit({ type: 'layers', build: this.#build, total });
  }

  /** One layer is done: from the layer cache, made now, or the customisation layer; `bytes` compressed. */
  layer(source: 'cache' | 'built' | 'customisation', bytes: number): void {
    this.#emit({ type: 'layer', build: this.#build, source, bytes });
  }

  /** The build ended with an image: built now, or found in the image cache. */
  succeeded(outcome: 'built' | 'cached'): void {
    this.#finish(outcome);
  }

  /** The build ended with this answer: the request's failure (4xx) or the server's. */
  failed(answer: RegistryError | StorageError): void {
    // What the build's clients were answered (storage errors as the registry renders them).
    const seen = answer instanceof StorageError ? storageRegistryError(answer) : answer;
    const error = { code: seen.code, status: seen.status, message: seen.message };
    this.#finish(error.status >= 400 && error.status < 500 ? 'refused' : 'failed', error);
  }

  #finish(outcome: 'built' | 'cached' | 'refused' | 'failed', error?: { code: string; status: number; message: string }): void {
    if (this.#startedAt === undefined) return;
    this.#emit({ type: 'finished', build: this.#build, outcome, durationMs: performance.now() - this.#startedAt, at: Date.now(), ...(error ? { error } : {}) });
    this.#startedAt = undefined;
  }

  #emit(event: BuildEvent): void {
    if (!this.#observer || (event.type !== 'started' && this.#startedAt === undefined)) return;
    try {
      this.#observer.onBuildEvent(event);
    } catch (error) {
      this.#logger.warn({ err: error, event: event.type }, 'build observer failed');
    }
  }
}
