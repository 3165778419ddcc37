/**
 * Storage on Cloudflare R2 or any S3-compatible object store, through the S3 API
 * (@aws-sdk/client-s3). The object at key `k` is the S3 object `<prefix>/k` (or `k` without a
 * prefix), so a Nixery bucket is served as-is.
 *
 * - writeStream is a streamed multipart upload (@aws-sdk/lib-storage): at most
 *   partSize x (queueSize + 1) bytes are held in memory, and the object appears only when
 *   CompleteMultipartUpload succeeds (atomically). A failure aborts the multipart upload, so no
 *   parts are left behind; if even the abort fails, the bucket's lifecycle (R2: incomplete
 *   uploads are aborted after 7 days by default) removes them. Bodies smaller than one part go
 *   up as a single PutObject.
 * - move is CopyObject + DeleteObject; sources larger than CopyObject allows (5 GiB on R2 and
 *   S3) are copied with a multipart upload of UploadPartCopy parts.
 * - Transient failures (5xx, throttling, timeouts, connection resets) are retried by the SDK
 *   ("standard" mode: exponential backoff with jitter, `maxAttempts` attempts).
 * - Objects are stored with `Content-Type: application/octet-stream` and never a
 *   Content-Encoding (a registry serves layer bytes exactly as stored).
 * - Checksums: the SDK adds flexible checksums only where the API requires them
 *   (WHEN_REQUIRED). Newer SDKs default to CRC32 on every upload and validate responses with
 *   it, which not every S3-compatible store (including local R2 in wrangler) accepts; SigV4 with
 *   a signed payload hash already protects the bytes in transit.
 */

import { Readable } from 'node:stream';

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCopyCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { assertValidKey, assertValidPrefix } from './keys-guard.ts';
import type { ByteRange, ListedObject } from './storage.ts';
import { isNetworkFailure, kindOfStatus, type StorageBackend, type StorageErrorKind } from './storage-error.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** The content type of every stored object. */
export const CONTENT_TYPE = 'application/octet-stream';

/** The smallest part S3 and R2 accept (except the last part of an upload). */
export const MIN_PART_SIZE = 5 * MiB;
/** The largest part, and the largest object CopyObject can copy (S3 and R2). */
export const MAX_PART_SIZE = 5 * GiB;
/** The most parts one multipart upload may have. */
export const MAX_PARTS = 10_000;

/**
 * 8 MiB parts, 3 in flight: ~32 MiB of buffers per upload (lib-storage holds about twice that
 * while copying chunks into parts), and layers up to 8 MiB x 10,000 parts = 78 GiB.
 */
export const DEFAULT_PART_SIZE = 8 * MiB;
export const DEFAULT_QUEUE_SIZE = 3;
export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** The part size of multipart copies (UploadPartCopy): the store copies, so parts can be big. */
export const DEFAULT_COPY_PART_SIZE = 512 * MiB;

export interface S3StorageOptions {
  /** The S3 endpoint, e.g. `https://<account>.r2.cloudflarestorage.com`; AWS's when unset. */
  endpoint?: string;
  bucket: string;
  /** `auto` for R2. */
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Path-style URLs (`<endpoint>/<bucket>/<key>`): needed for R2 and most S3-compatible stores. */
  forcePathStyle: boolean;
  /** Bytes per part of a streamed upload (>= 5 MiB); default DEFAULT_PART_SIZE (8 MiB). */
  partSize?: number;
  /** Parts of one streamed upload in flight at once; default DEFAULT_QUEUE_SIZE (3). */
  queueSize?: number;
  /** A key prefix (a valid key itself, e.g. `nixedge` or `tenants/a`) prepended as `<prefix>/<key>`. */
  prefix?: string;
  /** Attempts per request, the first included, for transient failures; default 5. */
  maxAttempts?: number;
  /** How long a request may wait on an idle connection (a stalled store) before it fails and is retried; default 30 s. */
  idleTimeoutMs?: number;
  /** Sources larger than this are moved with UploadPartCopy instead of CopyObject; default 5 GiB. */
  maxCopyObjectSize?: number;
  /** Bytes per UploadPartCopy part (5 MiB - 5 GiB); default 512 MiB. */
  copyPartSize?: number;
  /** Keys per ListObjectsV2 page (1-1000); default 1000, S3's and R2's most. */
  listPageSize?: number;
}

/** The HTTP status of an SDK error, if it came from a response. */
function httpStatus(error: unknown): number | undefined {
  if (error instanceof S3ServiceException) return error.$metadata.httpStatusCode;
  if (typeof error === 'object' && error !== null && '$metadata' in error) {
    const metadata = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
    if (typeof metadata?.httpStatusCode === 'number') return metadata.httpStatusCode;
  }
  return undefined;
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** S3 error codes saying the credentials are refused or lack a permission. */
const DENIED_CODES = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'AllAccessDisabled']);
/** S3 error codes saying the configuration itself is wrong (region, bucket name, endpoint). */
const MISCONFIGURED_CODES = new Set(['InvalidBucketName', 'PermanentRedirect', 'AuthorizationHeaderMalformed', 'InvalidRegion', 'IllegalLocationConstraintException']);

/** Whether `error` means "no object at this key" (and not, say, a missing bucket). */
function isNoSuchKey(error: unknown): boolean {
  const name = errorName(error);
  if (name === 'NoSuchKey' || name === 'NotFound') return true;
  return httpStatus(error) === 404 && name !== 'NoSuchBucket' && name !== 'NoSuchUpload';
}

function assertPositiveInteger(name: string, value: number, min: number, max: number = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`Expected ${name} to be an integer in ${min}..${max}, got ${String(value)}`);
  }
}

/** `key` encoded for an `x-amz-copy-source` header: each segment URI-encoded, slashes kept. */
function encodeCopySource(bucket: string, key: string): string {
  return `${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

export class S3Storage implements StorageBackend {
  readonly name = 's3';

  /** The kind of a failed S3 call, from the error code S3 answered (or the connection failing), wherever it is in the cause chain. */
  classify(error: unknown): StorageErrorKind | undefined {
    if (isNetworkFailure(error)) return 'unavailable';
    for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
      const name = errorName(current);
      if (name === 'NoSuchBucket') return 'not-found';
      if (name !== undefined && DENIED_CODES.has(name)) return 'denied';
      if (name !== undefined && MISCONFIGURED_CODES.has(name)) return 'misconfigured';
      const status = httpStatus(current);
      if (status !== undefined) return kindOfStatus(status);
    }
    return undefined;
  }
  /** The SDK client (exposed for tests and diagnostics, e.g. to add middleware). */
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string | undefined;
  readonly #partSize: number;
  readonly #queueSize: number;
  readonly #maxCopyObjectSize: number;
  readonly #copyPartSize: number;
  readonly #listPageSize: number;

  constructor(options: S3StorageOptions) {
    if (typeof options.bucket !== 'string' || options.bucket.length === 0) {
      throw new Error(`Expected an S3 bucket name, got ${JSON.stringify(options.bucket)}`);
    }
    if (typeof options.region !== 'string' || options.region.length === 0) {
      throw new Error(`Expected an S3 region (R2: "auto"), got ${JSON.stringify(options.region)}`);
    }
    if (!options.accessKeyId || !options.secretAccessKey) {
      throw new Error('Expected S3 credentials (an access key id and a secret access key)');
    }
    if (options.prefix !== undefined) assertValidKey(options.prefix);
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.#partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.#queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    this.#maxCopyObjectSize = options.maxCopyObjectSize ?? MAX_PART_SIZE;
    this.#copyPartSize = options.copyPartSize ?? DEFAULT_COPY_PART_SIZE;
    this.#listPageSize = options.listPageSize ?? 1000;
    assertPositiveInteger('listPageSize', this.#listPageSize, 1, 1000);
    const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    assertPositiveInteger('partSize', this.#partSize, MIN_PART_SIZE, MAX_PART_SIZE);
    assertPositiveInteger('queueSize', this.#queueSize, 1, 64);
    assertPositiveInteger('maxAttempts', maxAttempts, 1, 20);
    assertPositiveInteger('maxCopyObjectSize', this.#maxCopyObjectSize, 0, MAX_PART_SIZE);
    assertPositiveInteger('copyPartSize', this.#copyPartSize, MIN_PART_SIZE, MAX_PART_SIZE);

    this.client = new S3Client({
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      region: options.region,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      forcePathStyle: options.forcePathStyle,
      maxAttempts,
      retryMode: 'standard',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: 10_000,
        // Idle time on the socket, not the whole request: a long download stays alive, a stalled one
        // fails (and is retried). (`requestTimeout` bounds whole requests, and only warns unless told to throw.)
        socketTimeout: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      },
    });
  }

  /** The S3 object key of storage key `key`, after validating it. */
  objectKey(key: string): string {
    assertValidKey(key);
    const full = this.prefix === undefined ? key : `${this.prefix}/${key}`;
    if (this.prefix !== undefined) assertValidKey(full); // the prefix may push it past 1024 bytes
    return full;
  }

  /** Closes the client's idle connections; the storage is unusable afterwards. */
  destroy(): void {
    this.client.destroy();
  }

  #where(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    const objectKey = this.objectKey(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      return { size: head.ContentLength ?? 0 };
    } catch (error) {
      if (isNoSuchKey(error)) return undefined;
      throw new Error(`Failed to stat ${this.#where(objectKey)}`, { cause: error });
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable | undefined> {
    const objectKey = this.objectKey(key);
    if (range && !(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && range.start >= 0 && range.end >= range.start)) {
      throw new RangeError(`Expected a byte range with 0 <= start <= end, got ${JSON.stringify(range)}`);
    }
    let response;
    try {
      response = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
    } catch (error) {
      if (isNoSuchKey(error)) return undefined;
      throw new Error(`Failed to read ${this.#where(objectKey)}${range ? ` bytes ${range.start}-${range.end}` : ''}`, { cause: error });
    }
    const body = response.Body;
    if (body === undefined) return Readable.from([], { objectMode: false });
    const stream = body instanceof Readable ? body : Readable.fromWeb(body.transformToWebStream() as import('node:stream/web').ReadableStream);
    if (range && response.ContentLength !== undefined && response.ContentLength !== range.end - range.start + 1) {
      stream.destroy();
      throw new Error(
        `Expected ${range.end - range.start + 1} bytes for bytes ${range.start}-${range.end} of ${this.#where(objectKey)}, ` +
          `got ${response.ContentLength} (${response.ContentRange ?? 'no Content-Range'})`,
      );
    }
    return stream;
  }

  async readBytes(key: string): Promise<Buffer | undefined> {
    const objectKey = this.objectKey(key);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      if (response.Body === undefined) return Buffer.alloc(0);
      const bytes = await response.Body.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (error) {
      if (isNoSuchKey(error)) return undefined;
      throw new Error(`Failed to read ${this.#where(objectKey)}`, { cause: error });
    }
  }

  async writeBytes(key: string, data: Uint8Array): Promise<void> {
    const objectKey = this.objectKey(key);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          // Only the view's bytes, whatever its backing buffer holds.
          Body: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
          ContentLength: data.byteLength,
          ContentType: CONTENT_TYPE,
        }),
      );
    } catch (error) {
      throw new Error(`Failed to write ${this.#where(objectKey)}`, { cause: error });
    }
  }

  async writeStream(key: string, body: Readable): Promise<{ size: number }> {
    const objectKey = this.objectKey(key);
    let size = 0;
    let sourceError: unknown;
    let sourceFailed = false;
    async function* counted(): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of body) {
          const bytes = Buffer.isBuffer(chunk) ? chunk : typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
          size += bytes.byteLength;
          yield bytes;
        }
      } catch (error) {
        sourceFailed = true;
        sourceError = error;
        throw error;
      }
    }
    const source = Readable.from(counted(), { objectMode: false });
    const upload = new Upload({
      client: this.client,
      partSize: this.#partSize,
      queueSize: this.#queueSize,
      leavePartsOnError: false, // abort the multipart upload on any failure
      params: { Bucket: this.bucket, Key: objectKey, Body: source, ContentType: CONTENT_TYPE },
    });
    try {
      await upload.done();
    } catch (error) {
      // Stop the producer too: nothing will read the rest of its stream.
      source.destroy();
      if (!body.destroyed) body.destroy();
      if (sourceFailed) {
        if (error === sourceError) throw error;
        // lib-storage reports the abort's failure instead of the source's error: keep both.
        throw new Error(`Failed to write ${this.#where(objectKey)}: its source stream failed (then: ${String(error)})`, {
          cause: sourceError,
        });
      }
      throw new Error(`Failed to write ${this.#where(objectKey)} after ${size} bytes`, { cause: error });
    }
    return { size };
  }

  async move(from: string, to: string): Promise<void> {
    const fromKey = this.objectKey(from);
    const toKey = this.objectKey(to);
    const missing = (cause?: unknown): Error =>
      new Error(`Expected an object at ${JSON.stringify(from)} to move to ${JSON.stringify(to)}, got none`, cause === undefined ? undefined : { cause });
    const source = await this.stat(from);
    if (!source) throw missing();
    if (fromKey === toKey) return;
    try {
      if (source.size > this.#maxCopyObjectSize) {
        await this.#multipartCopy(fromKey, toKey, source.size);
      } else {
        await this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: toKey,
            CopySource: encodeCopySource(this.bucket, fromKey),
            MetadataDirective: 'REPLACE',
            ContentType: CONTENT_TYPE,
          }),
        );
      }
    } catch (error) {
      // The source went away between the stat and the copy (a concurrent move or delete).
      if (isNoSuchKey(error) && !(await this.stat(from))) throw missing(error);
      throw new Error(`Failed to copy ${this.#where(fromKey)} to ${this.#where(toKey)}`, { cause: error });
    }
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: fromKey }));
    } catch (error) {
      throw new Error(`Copied ${this.#where(fromKey)} to ${this.#where(toKey)} but failed to delete the source`, { cause: error });
    }
  }

  /** Copies an object of `size` bytes with UploadPartCopy parts, `queueSize` at a time; aborts on failure. */
  async #multipartCopy(fromKey: string, toKey: string, size: number): Promise<void> {
    const partSize = Math.max(this.#copyPartSize, Math.ceil(size / MAX_PARTS));
    if (partSize > MAX_PART_SIZE) {
      throw new Error(`Expected an object of at most ${MAX_PARTS} x ${MAX_PART_SIZE} bytes to copy, got ${size} bytes`);
    }
    const partCount = Math.max(1, Math.ceil(size / partSize));
    const created = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: toKey, ContentType: CONTENT_TYPE }),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error(`Expected an UploadId from CreateMultipartUpload for ${this.#where(toKey)}, got none`);
    try {
      const parts: CompletedPart[] = new Array<CompletedPart>(partCount);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < partCount) {
          const index = next++;
          const start = index * partSize;
          const end = Math.min(size, start + partSize) - 1;
          const result = await this.client.send(
            new UploadPartCopyCommand({
              Bucket: this.bucket,
              Key: toKey,
              UploadId: uploadId,
              PartNumber: index + 1,
              CopySource: encodeCopySource(this.bucket, fromKey),
              CopySourceRange: `bytes=${start}-${end}`,
            }),
          );
          const etag = result.CopyPartResult?.ETag;
          if (!etag) throw new Error(`Expected an ETag for part ${index + 1} of the copy to ${this.#where(toKey)}, got none`);
          parts[index] = { PartNumber: index + 1, ETag: etag };
        }
      };
      const results = await Promise.allSettled(Array.from({ length: Math.min(this.#queueSize, partCount) }, worker));
      const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failure) throw failure.reason;
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: toKey,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (error) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: toKey, UploadId: uploadId }))
        .catch((abortError: unknown) => {
          if (error instanceof Error && error.cause === undefined) error.cause = abortError;
        });
      throw error;
    }
  }

  /** ListObjectsV2 pages under `<prefix>/<listing prefix>`, the storage prefix taken off each key. */
  async *list(prefix: string): AsyncGenerator<ListedObject> {
    assertValidPrefix(prefix);
    const own = this.prefix === undefined ? '' : `${this.prefix}/`;
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${own}${prefix}`, MaxKeys: this.#listPageSize, ContinuationToken: token }),
        );
      } catch (error) {
        throw new Error(`Failed to list ${this.#where(`${own}${prefix}`)}`, { cause: error });
      }
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || !object.Key.startsWith(own)) continue;
        yield { key: object.Key.slice(own.length), size: object.Size ?? 0, lastModified: object.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.objectKey(key);
    try {
      // S3 and R2 answer 204 for a missing key too.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }));
    } catch (error) {
      if (isNoSuchKey(error)) return;
      throw new Error(`Failed to delete ${this.#where(objectKey)}`, { cause: error });
    }
  }
}
