/**
 * Write-backs: after the origin resolves a tag, it hands the edge everything the edge needs to
 * answer the next pull of that tag alone (shared/protocol.ts WriteBack): the tag pointer, both
 * manifests with their exact bytes, and the sizes of the blobs they name. Sent as a signed POST to
 * `${edgeUrl}${WRITE_BACK_PATH}` in the background: `enqueue` returns at once and never throws, so
 * a client's response never waits for the edge, and a failed write-back only costs the edge a miss.
 *
 * Failures that may pass on a retry (network errors, timeouts, 5xx, 429) are retried with
 * exponential backoff and jitter up to `attempts`, each attempt signed afresh (the edge refuses
 * replayed nonces). Other 4xx answers are bugs or misconfiguration: logged as errors, not retried.
 * Identical write-backs delivered within the last minute (or in flight) are not sent again: KV
 * allows one write per second per key, and the pointer is the same anyway.
 */

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { isDigest, type Digest } from '../../shared/digest.ts';
import { contentKey } from '../../shared/keys.ts';
import { MAX_WRITE_BACK_BYTES, WRITE_BACK_PATH, writeBackSchema, type Descriptor, type WriteBack } from '../../shared/protocol.ts';
import { signRequest } from '../../shared/signing.ts';
import type { ResolvedImage } from '../builder/image-builder.ts';
import { manifestMediaType } from '../image/manifest.ts';
import type { Logger } from '../log.ts';
import type { Storage } from '../storage/storage.ts';

export interface EdgeWriteBackOptions {
  /** The edge's base URL (`https://registry.example.com`); WRITE_BACK_PATH is appended. */
  edgeUrl: string;
  /** The HMAC secret shared with the edge. */
  secret: string;
  storage: Storage;
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
}

/** The parts of a stored manifest a write-back needs: the blobs it names. */
const manifestBlobsSchema = z.object({
  config: z.object({ digest: z.string(), size: z.number().int().nonnegative() }),
  layers: z.array(z.object({ digest: z.string(), size: z.number().int().nonnegative() })),
});

/** An answer that says the write-back itself is wrong: retrying would not help. */
class PermanentFailure extends Error {
  override name = 'PermanentFailure';
}

/** Outcome of one delivery, for its log line. */
interface Delivery {
  attempts: number;
  status?: number;
}

export class EdgeWriteBack {
  readonly #options: Required<Omit<EdgeWriteBackOptions, 'fetch'>> & { fetch: typeof globalThis.fetch };
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
    };
  }

  /**
   * Sends the write-back for `name:tag` (the repository name as requested) in the background.
   * Returns at once; never throws.
   */
  enqueue(name: string, tag: string, image: ResolvedImage): void {
    try {
      const { record, pinned } = image;
      const key = `${name}\0${tag}\0${pinned}\0${record.oci.digest}\0${record.oci.size}\0${record.docker.digest}\0${record.docker.size}`;
      const now = Date.now();
      this.#forgetOld(now);
      const previous = this.#recent.get(key);
      if (previous === 'in-flight' || (previous !== undefined && now - previous < this.#options.dedupeMs)) return;
      if (this.#pending.size >= this.#options.maxPending) {
        this.#options.logger.warn({ name, tag, pending: this.#pending.size }, 'write-back dropped: too many pending');
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
    const payload = await buildWriteBack(this.#options.storage, name, tag, image);
    const body = new TextEncoder().encode(JSON.stringify(payload));
    if (body.length > MAX_WRITE_BACK_BYTES) {
      throw new PermanentFailure(`Write-back of ${body.length} bytes exceeds the edge's limit of ${MAX_WRITE_BACK_BYTES}`);
    }
    const fields = { name, tag, oci: image.record.oci.digest, docker: image.record.docker.digest, bytes: body.length };
    let delivery: Delivery;
    try {
      delivery = await this.#send(body);
    } catch (error) {
      const attempts = error instanceof DeliveryError ? error.attempts : undefined;
      this.#options.logger.error(
        { ...fields, attempts, durationMs: Math.round(performance.now() - started), err: error instanceof DeliveryError ? error.cause : error },
        'write-back to the edge failed',
      );
      return false;
    }
    this.#options.logger.info(
      { ...fields, attempts: delivery.attempts, status: delivery.status, durationMs: Math.round(performance.now() - started) },
      'write-back delivered',
    );
    return true;
  }

  /** POSTs `body` until it is accepted, refused for good, or the attempts are used up. */
  async #send(body: Uint8Array<ArrayBuffer>): Promise<Delivery> {
    const { attempts, fetch } = this.#options;
    const pathAndQuery = `${this.#target.pathname}${this.#target.search}`;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        const headers = await signRequest(this.#options.secret, { method: 'POST', pathAndQuery, body });
        const response = await fetch(this.#target, {
          method: 'POST',
          headers: { ...headers, 'Content-Type': 'application/json' },
          body,
          signal: AbortSignal.timeout(this.#options.attemptTimeoutMs),
        });
        if (response.ok) {
          await response.body?.cancel();
          return { attempts: attempt, status: response.status };
        }
        const text = (await response.text().catch(() => '')).slice(0, 500);
        const failure = `edge answered ${response.status}${text ? `: ${text}` : ''}`;
        if (response.status !== 429 && response.status < 500) {
          throw new DeliveryError(attempt, new PermanentFailure(failure));
        }
        lastError = new Error(failure);
        retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      } catch (error) {
        if (error instanceof DeliveryError) throw error;
        lastError = error;
      }
      if (attempt < attempts) {
        this.#options.logger.debug({ attempt, err: lastError }, 'write-back attempt failed; retrying');
        await sleep(this.#delay(attempt, retryAfterMs));
      }
    }
    throw new DeliveryError(attempts, lastError);
  }

  /** Delay after failed attempt `attempt` (1-based): base x 2^(attempt-1), capped, with jitter. */
  #delay(attempt: number, retryAfterMs: number | undefined): number {
    const { baseDelayMs, maxDelayMs } = this.#options;
    const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    const jittered = exponential / 2 + Math.random() * (exponential / 2);
    return Math.min(maxDelayMs, Math.max(jittered, retryAfterMs ?? 0));
  }
}

/** Delivery gave up after `attempts`; `cause` is the last failure. */
class DeliveryError extends Error {
  override name = 'DeliveryError';
  readonly attempts: number;
  constructor(attempts: number, cause: unknown) {
    super(`write-back gave up after ${attempts} attempt(s)`, { cause });
    this.attempts = attempts;
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
 * The write-back for `name:tag`: the tag pointer, both manifests with their exact stored bytes,
 * and the sizes of the config and every layer they name. Validated against writeBackSchema.
 */
export async function buildWriteBack(storage: Storage, name: string, tag: string, image: ResolvedImage): Promise<WriteBack> {
  const manifests: WriteBack['manifests'] = [];
  const blobs = new Map<Digest, number>();
  for (const descriptor of uniqueDescriptors([image.record.oci, image.record.docker])) {
    const bytes = await storage.readBytes(contentKey(descriptor.digest));
    if (!bytes) throw new Error(`Manifest ${descriptor.digest} is not in storage`);
    if (bytes.length !== descriptor.size || sha256(bytes) !== descriptor.digest) {
      throw new Error(`Stored manifest ${descriptor.digest} does not match its descriptor (${bytes.length} bytes)`);
    }
    const mediaType = manifestMediaType(bytes);
    if (!mediaType) throw new Error(`Stored object ${descriptor.digest} is not a manifest`);
    const body = bytes.toString('utf8');
    if (!Buffer.from(body, 'utf8').equals(bytes)) throw new Error(`Manifest ${descriptor.digest} is not valid UTF-8`);
    manifests.push({ digest: descriptor.digest, mediaType, body });
    const parsed = manifestBlobsSchema.parse(JSON.parse(body));
    for (const blob of [parsed.config, ...parsed.layers]) {
      if (!isDigest(blob.digest)) throw new Error(`Manifest ${descriptor.digest} names an invalid digest`);
      const known = blobs.get(blob.digest);
      if (known !== undefined && known !== blob.size) {
        throw new Error(`Manifests disagree on the size of ${blob.digest}: ${known} and ${blob.size}`);
      }
      blobs.set(blob.digest, blob.size);
    }
  }
  return writeBackSchema.parse({
    tag: { name, tag, pinned: image.pinned, manifests: { oci: image.record.oci, docker: image.record.docker } },
    manifests,
    blobs: [...blobs].map(([digest, size]) => ({ digest, size })),
  } satisfies WriteBack);
}

function uniqueDescriptors(descriptors: Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return descriptors.filter((d) => !seen.has(d.digest) && seen.add(d.digest) !== undefined);
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
