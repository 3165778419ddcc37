/**
 * Storage on Google Cloud Storage (@google-cloud/storage, the JSON API): Nixery's home. The
 * object at key `k` is `gs://<bucket>/<prefix>/k` (or `gs://<bucket>/k` without a prefix), so a
 * bucket Nixery filled (`layers/<sha256>`) is served as-is.
 *
 * - writeStream is a resumable upload sent in chunks of `chunkSize` bytes: the client holds one
 *   chunk in memory (so it can resend it), whatever the object's size, and the object appears only
 *   when the last chunk finalizes the upload (atomically, as a new generation). A failed or
 *   abandoned upload session is never visible and expires on its own (GCS: one week).
 * - Integrity: uploads are validated with crc32c (the client hashes what it sends, sends the hash
 *   with the final chunk, and compares it with the stored object's; on a mismatch it deletes
 *   the object and fails); downloads of whole objects are checked against `x-goog-hash`.
 * - Reads are plain JSON API media GETs (`alt=media`, with `Range` for a range) made with the
 *   client's credentials, retried like the client's own requests; see #download for why.
 * - writeBytes is one multipart upload (also atomic, also crc32c-validated).
 * - move is a server-side rewrite (copy, repeated with the rewrite token for big objects) then a
 *   delete of the source; the destination is never seen partial.
 * - Retries: every request, uploads included, is retried on transient failures (408, 429, 5xx,
 *   connection resets) with exponential backoff (1 s x 2^n + jitter, at most 64 s apart, 10 min
 *   in all), `maxRetries` times. RetryAlways: every write here goes to a fresh staging key, is a
 *   content-addressed object whose bytes are fixed by its name, or is a whole-object replace of
 *   a small cache entry, so repeating it is harmless. A resumable upload resumes from the offset
 *   the server reports instead of starting again.
 * - Objects are stored with `Content-Type: application/octet-stream` and never a
 *   Content-Encoding (a registry serves layer bytes exactly as stored); a read of an object
 *   stored with one fails rather than serve bytes GCS or fetch transcoded.
 *
 * GCS limits that matter for large layers: an object is at most 5 TiB; a resumable upload's
 * chunks (all but the last) must be multiples of 256 KiB; rewrites of large objects across
 * locations or storage classes take several calls (the client loops on the rewrite token).
 * The default chunk of 16 MiB keeps memory at ~16 MiB per upload in flight (LAYER_CONCURRENCY of
 * them per build) and a 5 GiB layer at ~320 requests.
 */

import { pipeline as pipelineCallback, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import pRetry from 'p-retry';

import {
  CRC32C,
  IdempotencyStrategy,
  Storage as GcsClient,
  type Bucket,
  type File,
} from '@google-cloud/storage';

import { assertValidKey, assertValidPrefix } from './keys-guard.ts';
import { failWhenIdle } from './idle-timeout.ts';
import type { ByteRange, ListedObject } from './storage.ts';
import { isNetworkFailure, kindOfStatus, type StorageBackend, type StorageErrorKind } from './storage-error.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const TiB = 1024 * 1024 * MiB;

/** The content type of every stored object. */
export const CONTENT_TYPE = 'application/octet-stream';
/** Resumable upload chunks (all but the last) must be multiples of this. */
export const CHUNK_GRANULARITY = 256 * KiB;
/** The largest object GCS stores. */
export const MAX_OBJECT_SIZE = 5 * TiB;
export const DEFAULT_CHUNK_SIZE = 16 * MiB;
/** Retries per request after the first attempt. */
export const DEFAULT_MAX_RETRIES = 5;
/** How long a request may go without an answer or data. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export interface GcsStorageOptions {
  bucket: string;
  /** The project (GOOGLE_CLOUD_PROJECT); not needed for object access, detected when unset. */
  projectId?: string;
  /** A service account key file (GOOGLE_APPLICATION_CREDENTIALS); default credentials when unset. */
  keyFilename?: string;
  /**
   * Another JSON API endpoint, e.g. an emulator's `http://127.0.0.1:9199`. Requests to it are
   * not authenticated unless `keyFilename` is given.
   */
  apiEndpoint?: string;
  /** A key prefix (a valid key itself, e.g. `nixedge` or `tenants/a`) prepended as `<prefix>/<key>`. */
  prefix?: string;
  /** Bytes per resumable-upload request: a multiple of 256 KiB; default 16 MiB. */
  chunkSize?: number;
  /** Retries per request for transient failures; default 5. */
  maxRetries?: number;
  /** How long a request may go without an answer or data (a stalled store) before it fails and is retried; default 30 s. */
  idleTimeoutMs?: number;
  /** Objects per listing page (1-1000); default 1000, the JSON API's most. */
  listPageSize?: number;
}

/** The HTTP status (or the client's error code) of an error from @google-cloud/storage. */
function errorCode(error: unknown): number | string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'number' || typeof code === 'string') return code;
  }
  return undefined;
}

function isNotFound(error: unknown): boolean {
  return errorCode(error) === 404;
}

/** A failed read that retrying cannot fix. */
class PermanentError extends Error {}

/** An error saying the store did not answer in time (classified "unavailable", retried). */
function timeoutError(message: string): Error {
  return Object.assign(new Error(message), { name: 'TimeoutError' });
}

/** Whether a failed read may pass on a retry: a connection failure, 408, 429 or a 5xx. */
function isTransient(error: unknown): boolean {
  if (error instanceof PermanentError) return false;
  const status = (error as { code?: unknown }).code;
  return typeof status !== 'number' || status === 408 || status === 429 || status >= 500;
}

export class GcsStorage implements StorageBackend {
  readonly name = 'gcs';

  /** The kind of a failed GCS call, from the HTTP status it answered (or the connection failing). */
  classify(error: unknown): StorageErrorKind | undefined {
    for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
      const code = (current as { code?: unknown }).code;
      if (typeof code === 'number' && code >= 400) return kindOfStatus(code);
    }
    return isNetworkFailure(error) ? 'unavailable' : undefined;
  }
  /** The client (exposed for tests and diagnostics). */
  readonly client: GcsClient;
  readonly bucket: Bucket;
  readonly prefix: string | undefined;
  readonly chunkSize: number;
  readonly #apiEndpoint: string;
  /** Whether requests carry credentials (not to an emulator, unless a key file is given). */
  readonly #authenticate: boolean;
  readonly #maxRetries: number;
  readonly #idleTimeoutMs: number;
  readonly #listPageSize: number;

  constructor(options: GcsStorageOptions) {
    if (typeof options.bucket !== 'string' || options.bucket.length === 0) {
      throw new Error(`Expected a GCS bucket name, got ${JSON.stringify(options.bucket)}`);
    }
    if (options.prefix !== undefined) assertValidKey(options.prefix);
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isSafeInteger(chunkSize) || chunkSize < CHUNK_GRANULARITY || chunkSize % CHUNK_GRANULARITY !== 0) {
      throw new RangeError(`Expected chunkSize to be a positive multiple of 256 KiB (${CHUNK_GRANULARITY}), got ${String(chunkSize)}`);
    }
    const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    if (!Number.isSafeInteger(maxRetries) || maxRetries < 0 || maxRetries > 20) {
      throw new RangeError(`Expected maxRetries to be an integer in 0..20, got ${String(maxRetries)}`);
    }
    this.prefix = options.prefix;
    this.chunkSize = chunkSize;
    this.#maxRetries = maxRetries;
    this.#apiEndpoint = (options.apiEndpoint ?? 'https://storage.googleapis.com').replace(/\/+$/, '');
    this.#authenticate = options.apiEndpoint === undefined || options.keyFilename !== undefined;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#listPageSize = options.listPageSize ?? 1000;
    if (!Number.isSafeInteger(this.#listPageSize) || this.#listPageSize < 1 || this.#listPageSize > 1000) {
      throw new RangeError(`Expected listPageSize to be an integer in 1..1000, got ${String(this.#listPageSize)}`);
    }
    this.client = new GcsClient({
      timeout: this.#idleTimeoutMs,
      ...(options.projectId === undefined ? {} : { projectId: options.projectId }),
      ...(options.keyFilename === undefined ? {} : { keyFilename: options.keyFilename }),
      ...(options.apiEndpoint === undefined
        ? {}
        : { apiEndpoint: this.#apiEndpoint, useAuthWithCustomEndpoint: this.#authenticate }),
      retryOptions: {
        // 0 retries = one attempt (the client ignores maxRetries: 0 and uses its default of 3).
        autoRetry: maxRetries > 0,
        maxRetries: Math.max(1, maxRetries),
        retryDelayMultiplier: 2,
        maxRetryDelay: 64,
        totalTimeout: 600,
        idempotencyStrategy: IdempotencyStrategy.RetryAlways,
      },
    });
    this.bucket = this.client.bucket(options.bucket);
  }

  /** The GCS object name of storage key `key`, after validating it. */
  objectName(key: string): string {
    assertValidKey(key);
    const full = this.prefix === undefined ? key : `${this.prefix}/${key}`;
    if (this.prefix !== undefined) assertValidKey(full); // the prefix may push it past 1024 bytes
    return full;
  }

  #file(key: string): File {
    return this.bucket.file(this.objectName(key));
  }

  #where(file: File): string {
    return `gs://${this.bucket.name}/${file.name}`;
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    const file = this.#file(key);
    try {
      const [metadata] = await file.getMetadata();
      return { size: Number(metadata.size ?? 0) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new Error(`Failed to stat ${this.#where(file)}`, { cause: error });
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable | undefined> {
    const name = this.objectName(key);
    if (range && !(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && range.start >= 0 && range.end >= range.start)) {
      throw new RangeError(`Expected a byte range with 0 <= start <= end, got ${JSON.stringify(range)}`);
    }
    const what = `gs://${this.bucket.name}/${name}${range ? ` bytes ${range.start}-${range.end}` : ''}`;
    const response = await this.#download(name, what, range);
    if (response === undefined) return undefined;
    const body = failWhenIdle(
      response.body === null ? Readable.from([], { objectMode: false }) : Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      this.#idleTimeoutMs,
      what,
    );
    // A whole object is checked against its crc32c (x-goog-hash): the stream fails at its end on a mismatch.
    const expected = /(?:^|,)\s*crc32c=([^,\s]+)/.exec(response.headers.get('x-goog-hash') ?? '')?.[1];
    if (range || expected === undefined) return body;
    const crc = new CRC32C();
    const check = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        crc.update(chunk);
        callback(null, chunk);
      },
      flush(callback) {
        const actual = crc.toString();
        callback(actual === expected ? null : new Error(`Expected ${what} to have crc32c ${expected}, got ${actual}`));
      },
    });
    // Errors go both ways: a failing download fails `check`, destroying `check` aborts the download.
    return pipelineCallback(body, check, () => {});
  }

  /**
   * GETs the object's bytes through the JSON API (`alt=media`), retrying transient failures;
   * undefined when there is no object. (Not `file.createReadStream()`: its retries of a failed
   * download throw an unhandled ERR_STREAM_UNABLE_TO_PIPE in teeny-request, and every large
   * download logs a MaxListenersExceededWarning.)
   */
  async #download(name: string, what: string, range?: ByteRange): Promise<Response | undefined> {
    const url = `${this.#apiEndpoint}/storage/v1/b/${encodeURIComponent(this.bucket.name)}/o/${encodeURIComponent(name)}?alt=media`;
    let attempts = 0;
    try {
      return await pRetry(
        async () => {
          attempts += 1;
          return this.#downloadOnce(url, what, range);
        },
        {
          // The client's own backoff: 2^n s + up to 1 s of jitter, at most 64 s.
          retries: this.#maxRetries,
          factor: 2,
          minTimeout: 1000,
          maxTimeout: 64_000,
          randomize: true,
          shouldRetry: ({ error }) => isTransient(error),
        },
      );
    } catch (error) {
      if (error instanceof PermanentError) throw error;
      throw new Error(`Failed to read ${what}${attempts > 1 ? ` after ${attempts} attempts` : ''}`, { cause: error });
    }
  }

  /** One GET of an object's bytes: the response (200, or 206 for a range), undefined for 404, or a failure. */
  async #downloadOnce(url: string, what: string, range?: ByteRange): Promise<Response | undefined> {
    let headers: Headers;
    try {
      headers = new Headers(this.#authenticate ? await this.client.authClient.getRequestHeaders(url) : undefined);
    } catch (error) {
      throw new PermanentError(`Failed to read ${what}: no credentials`, { cause: error });
    }
    if (range) headers.set('range', `bytes=${range.start}-${range.end}`);
    // The answer must start within the idle timeout; the body is bounded by failWhenIdle in read().
    const answered = new AbortController();
    const timer = setTimeout(() => answered.abort(timeoutError(`No answer from storage within ${this.#idleTimeoutMs / 1000} s for ${what}`)), this.#idleTimeoutMs);
    let response: Response;
    try {
      response = await fetch(url, { headers, signal: answered.signal });
    } finally {
      clearTimeout(timer);
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (response.status !== (range ? 206 : 200)) {
      const text = (await response.text()).slice(0, 300);
      throw Object.assign(new Error(`HTTP ${response.status} ${response.statusText}: ${text}`), { code: response.status });
    }
    const encoding = response.headers.get('content-encoding');
    const length = response.headers.get('content-length');
    if (encoding && encoding !== 'identity') {
      await response.body?.cancel();
      throw new PermanentError(`Expected ${what} to be stored without a Content-Encoding, got ${encoding}`);
    }
    if (range && length !== null && Number(length) !== range.end - range.start + 1) {
      await response.body?.cancel();
      throw new PermanentError(`Expected ${range.end - range.start + 1} bytes for ${what}, got ${length} (${response.headers.get('content-range') ?? 'no Content-Range'})`);
    }
    return response;
  }

  async readBytes(key: string): Promise<Buffer | undefined> {
    const stream = await this.read(key);
    if (stream === undefined) return undefined;
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of stream) chunks.push(chunk as Buffer);
    } catch (error) {
      throw new Error(`Failed to read gs://${this.bucket.name}/${this.objectName(key)}`, { cause: error });
    }
    return Buffer.concat(chunks);
  }

  async writeBytes(key: string, data: Uint8Array): Promise<void> {
    const file = this.#file(key);
    try {
      // Only the view's bytes, whatever its backing buffer holds.
      await file.save(Buffer.from(data.buffer, data.byteOffset, data.byteLength), {
        resumable: false,
        validation: 'crc32c',
        contentType: CONTENT_TYPE,
        metadata: { contentType: CONTENT_TYPE },
      });
    } catch (error) {
      throw new Error(`Failed to write ${this.#where(file)}`, { cause: error });
    }
  }

  async writeStream(key: string, body: Readable): Promise<{ size: number }> {
    const file = this.#file(key);
    let size = 0;
    let sourceError: unknown;
    let sourceFailed = false;
    body.once('error', (error) => {
      sourceFailed = true;
      sourceError = error;
    });
    const counter = new Transform({
      transform(chunk: Buffer | string, _encoding, callback) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        size += bytes.byteLength;
        if (size > MAX_OBJECT_SIZE) {
          callback(new Error(`Expected at most ${MAX_OBJECT_SIZE} bytes (the largest GCS object), got more`));
          return;
        }
        callback(null, bytes);
      },
    });
    const upload = file.createWriteStream({
      resumable: true,
      chunkSize: this.chunkSize,
      validation: 'crc32c',
      contentType: CONTENT_TYPE,
      metadata: { contentType: CONTENT_TYPE },
    });
    try {
      await pipeline(body, counter, upload);
    } catch (error) {
      if (sourceFailed) {
        if (error === sourceError) throw error;
        throw new Error(`Failed to write ${this.#where(file)}: its source stream failed (then: ${String(error)})`, { cause: sourceError });
      }
      throw new Error(`Failed to write ${this.#where(file)} after ${size} bytes`, { cause: error });
    }
    return { size };
  }

  async move(from: string, to: string): Promise<void> {
    const source = this.#file(from);
    const destination = this.#file(to);
    const missing = (cause?: unknown): Error =>
      new Error(`Expected an object at ${JSON.stringify(from)} to move to ${JSON.stringify(to)}, got none`, cause === undefined ? undefined : { cause });
    if (!(await this.stat(from))) throw missing();
    if (source.name === destination.name) return;
    try {
      // A rewrite (server-side copy; the client repeats it with the rewrite token until done).
      await source.copy(destination, { contentType: CONTENT_TYPE });
    } catch (error) {
      // The source went away between the stat and the copy (a concurrent move or delete).
      if (isNotFound(error)) throw missing(error);
      throw new Error(`Failed to copy ${this.#where(source)} to ${this.#where(destination)}`, { cause: error });
    }
    try {
      await source.delete({ ignoreNotFound: true });
    } catch (error) {
      throw new Error(`Copied ${this.#where(source)} to ${this.#where(destination)} but failed to delete the source`, { cause: error });
    }
  }

  /** objects.list pages under `<prefix>/<listing prefix>` (retried like every request), the storage prefix taken off each name. */
  async *list(prefix: string): AsyncGenerator<ListedObject> {
    assertValidPrefix(prefix);
    const own = this.prefix === undefined ? '' : `${this.prefix}/`;
    let pageToken: string | undefined;
    do {
      let files: File[];
      let next: { pageToken?: string } | null | undefined;
      try {
        [files, next] = await this.bucket.getFiles({ prefix: `${own}${prefix}`, autoPaginate: false, maxResults: this.#listPageSize, ...(pageToken === undefined ? {} : { pageToken }) });
      } catch (error) {
        throw new Error(`Failed to list gs://${this.bucket.name}/${own}${prefix}`, { cause: error });
      }
      for (const file of files) {
        if (!file.name.startsWith(own)) continue;
        const updated = file.metadata.updated ?? file.metadata.timeCreated;
        yield { key: file.name.slice(own.length), size: Number(file.metadata.size ?? 0), lastModified: updated === undefined ? 0 : Date.parse(updated) };
      }
      pageToken = next?.pageToken;
    } while (pageToken !== undefined);
  }

  async delete(key: string): Promise<void> {
    const file = this.#file(key);
    try {
      await file.delete({ ignoreNotFound: true });
    } catch (error) {
      throw new Error(`Failed to delete ${this.#where(file)}`, { cause: error });
    }
  }
}
