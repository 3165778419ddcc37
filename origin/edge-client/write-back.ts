/**
 * Write-backs: after the origin resolves a tag, it hands the edge everything the edge needs to
 * answer the next pull of that tag alone (shared/protocol.ts WriteBack): the tag pointer, every
 * manifest with its exact bytes, and the sizes of the blobs they name, all taken from the image's
 * record (no storage reads). Sent as a signed POST to `${edgeUrl}${WRITE_BACK_PATH}` in the
 * background: `enqueue` returns at once and never throws, so a client's response never waits for
 * the edge, and a failed write-back only costs the edge a miss.
 *
 * Failures that may pass on a retry (network errors, timeouts, 5xx, 429) are retried (p-retry:
 * exponential backoff with jitter, a Retry-After honoured) up to `attempts`, each attempt signed
 * afresh (the edge refuses replayed nonces). Other 4xx answers are bugs or misconfiguration:
 * logged as errors, not retried. Identical write-backs delivered within the last minute (or in
 * flight) are not sent again: KV allows one write per second per key, and the pointer is the same.
 */

import pRetry, { AbortError } from 'p-retry';
import { MAX_WRITE_BACK_BYTES, WRITE_BACK_PATH, writeBackSchema, type WriteBack } from '../../shared/protocol.ts';
import { signRequest } from '../../shared/signing.ts';
import type { ResolvedImage } from '../builder/resolved-image.ts';
import type { Logger } from '../log.ts';

export interface EdgeWriteBackOptions {
  /** The edge's base URL (`https://registry.example.com`); WRITE_BACK_PATH is appended. */
  edgeUrl: string;
  /** The HMAC secret shared with the edge. */
  secret: string;
  logger: Logger;
  /** Attempts per write-back, the first included (>= 1). */
  attempts: number;
  fetch?: typeof globalThis.fetch;
  /** Delay before the first retry, doubling after each (default 500 ms). */
  baseDelayMs?: number;
  /** Longest delay between attempts (default 30 s). */
  maxDelayMs?: number;
  /** How long one attempt may take (default 10 s). */
  attemptTimeoutMs?: number;
  /** How long a delivered write-back is not sent again (default 60 s). */
  dedupeMs?: number;
  /** Most write-backs pending at once; more are dropped with a warning (default 1000). */
  maxPending?: number;
  /** Told how each write-back ended (metrics): delivered, failed after every attempt, or dropped. */
  onOutcome?: (outcome: 'delivered' | 'failed' | 'dropped') => void;
}

/** The edge's answer to one attempt that did not succeed. */
class EdgeAnswer extends Error {
  override name = 'EdgeAnswer';
  readonly status: number;
  readonly retryAfterMs: number | undefined;
  constructor(status: number, text: string, retryAfterMs: number | undefined) {
    super(`edge answered ${status}${text ? `: ${text}` : ''}`);
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

export class EdgeWriteBack {
  readonly #options: Required<Omit<EdgeWriteBackOptions, 'fetch' | 'onOutcome'>> & { fetch: typeof globalThis.fetch; onOutcome: NonNullable<EdgeWriteBackOptions['onOutcome']> };
  readonly #target: URL;
  readonly #pending = new Set<Promise<void>>();
  /** Dedupe key -> epoch ms of delivery, or 'in-flight'. */
  readonly #recent = new Map<string, number | 'in-flight'>();

  constructor(options: EdgeWriteBackOptions) {
    if (!Number.isSafeInteger(options.attempts) || options.attempts < 1) {
      throw new RangeError(`Expected attempts to be a whole number >= 1, got ${options.attempts}`);
    }
    this.#target = new URL(`${options.edgeUrl.replace(/\/+$/, '')}${WRITE_BACK_PATH}`);
    if (this.#target.protocol !== 'https:' && this.#target.protocol !== 'http:') {
      throw new Error(`Expected an http(s) edge URL, got ${options.edgeUrl}`);
    }
    this.#options = {
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      attemptTimeoutMs: 10_000,
      dedupeMs: 60_000,
      maxPending: 1000,
      ...options,
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      onOutcome: options.onOutcome ?? (() => undefined),
    };
  }

  /**
   * Sends the write-back for `name:tag` (the repository name as requested) in the background.
   * Returns at once; never throws.
   */
  enqueue(name: string, tag: string, image: ResolvedImage): void {
    try {
      const { manifests } = image.record;
      const key = `${name}\0${tag}\0${image.pinned}\0${manifests.oci.digest}\0${manifests.docker.digest}`;
      const now = Date.now();
      this.#forgetOld(now);
      const previous = this.#recent.get(key);
      if (previous === 'in-flight' || (previous !== undefined && now - previous < this.#options.dedupeMs)) return;
      if (this.#pending.size >= this.#options.maxPending) {
        this.#options.logger.warn({ name, tag, pending: this.#pending.size }, 'write-back dropped: too many pending');
        this.#options.onOutcome('dropped');
        return;
      }
      this.#recent.delete(key);
      this.#recent.set(key, 'in-flight');
      const task = this.#deliver(name, tag, image).then(
        (delivered) => {
          this.#recent.delete(key);
          if (delivered) this.#recent.set(key, Date.now());
        },
        (error: unknown) => {
          this.#recent.delete(key);
          this.#options.logger.error({ err: error, name, tag }, 'write-back failed');
          this.#options.onOutcome('failed');
        },
      );
      const tracked: Promise<void> = task.finally(() => this.#pending.delete(tracked));
      this.#pending.add(tracked);
    } catch (error) {
      this.#options.logger.error({ err: error, name, tag }, 'write-back not enqueued');
    }
  }

  /** Resolves once every write-back enqueued so far (and any enqueued meanwhile) has finished. */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Write-backs not finished yet. */
  get pending(): number {
    return this.#pending.size;
  }

  #forgetOld(now: number): void {
    for (const [key, deliveredAt] of this.#recent) {
      if (deliveredAt !== 'in-flight' && now - deliveredAt >= this.#options.dedupeMs) this.#recent.delete(key);
    }
  }

  /** Builds and sends one write-back; false when the edge did not take it (already logged). */
  async #deliver(name: string, tag: string, image: ResolvedImage): Promise<boolean> {
    const started = performance.now();
    const body = new TextEncoder().encode(JSON.stringify(writeBackFor(name, tag, image)));
    if (body.length > MAX_WRITE_BACK_BYTES) {
      throw new Error(`Write-back of ${body.length} bytes exceeds the edge's limit of ${MAX_WRITE_BACK_BYTES}`);
    }
    const fields = { name, tag, oci: image.record.manifests.oci.digest, docker: image.record.manifests.docker.digest, bytes: body.length };
    let attempts = 0;
    try {
      const status = await pRetry(
        async (attempt) => {
          attempts = attempt;
          return this.#send(body);
        },
        {
          retries: this.#options.attempts - 1,
          factor: 2,
          minTimeout: this.#options.baseDelayMs,
          maxTimeout: this.#options.maxDelayMs,
          randomize: true,
          onFailedAttempt: async ({ error, retriesLeft }) => {
            if (retriesLeft === 0) return;
            this.#options.logger.debug({ attempt: attempts, err: error }, 'write-back attempt failed; retrying');
            // The edge may say how long to wait (429, 503): wait at least that, within the cap.
            const retryAfter = error instanceof EdgeAnswer ? error.retryAfterMs : undefined;
            if (retryAfter !== undefined) await sleep(Math.min(retryAfter, this.#options.maxDelayMs));
          },
        },
      );
      this.#options.logger.info({ ...fields, attempts, status, durationMs: Math.round(performance.now() - started) }, 'write-back delivered');
      this.#options.onOutcome('delivered');
      return true;
    } catch (error) {
      this.#options.logger.error({ ...fields, attempts, durationMs: Math.round(performance.now() - started), err: error }, 'write-back to the edge failed');
      this.#options.onOutcome('failed');
      return false;
    }
  }

  /** POSTs `body` once, signed afresh; resolves with the status, throws what p-retry should retry (or not). */
  async #send(body: Uint8Array<ArrayBuffer>): Promise<number> {
    const pathAndQuery = `${this.#target.pathname}${this.#target.search}`;
    const headers = await signRequest(this.#options.secret, { direction: 'origin-to-edge', method: 'POST', pathAndQuery, body });
    const response = await this.#options.fetch(this.#target, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json' },
      body,
      signal: AbortSignal.timeout(this.#options.attemptTimeoutMs),
    });
    if (response.ok) {
      await response.body?.cancel();
      return response.status;
    }
    const text = (await response.text().catch(() => '')).slice(0, 500);
    const answer = new EdgeAnswer(response.status, text, parseRetryAfter(response.headers.get('retry-after')));
    // 429 and 5xx may pass later; any other refusal means the write-back itself is wrong.
    if (response.status !== 429 && response.status < 500) throw new AbortError(answer);
    throw answer;
  }
}

/** Retry-After in ms (seconds or an HTTP date), or undefined. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The write-back for `name:tag` (the repository name as requested): the tag pointer, the image's
 * manifests with their exact bytes, and the sizes of its blobs, from its record. Validated
 * against writeBackSchema.
 */
export function writeBackFor(name: string, tag: string, image: ResolvedImage): WriteBack {
  const { record, pinned } = image;
  return writeBackSchema.parse({
    tag: { name, tag, pinned, manifests: record.manifests },
    manifests: record.documents,
    blobs: record.blobs,
  } satisfies WriteBack);
}
