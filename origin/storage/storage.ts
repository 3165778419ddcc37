/**
 * The one interface every storage backend implements (filesystem, S3/R2, GCS). Keys are
 * slash-separated relative paths built only by shared/keys.ts. Every backend passes the shared
 * conformance suite in ./conformance.ts.
 */

import type { Readable } from 'node:stream';

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/** One object found by `Storage.list`. */
export interface ListedObject {
  /** The object's key (as given to the other operations, without any backend prefix). */
  key: string;
  size: number;
  /** When the object was last written, in ms since the epoch (object stores: second precision at worst). */
  lastModified: number;
}

export interface Storage {
  /** A short name for logs ("filesystem", "s3", "gcs"). */
  readonly name: string;

  /** The size of the object at `key`, or undefined when there is none. */
  stat(key: string): Promise<{ size: number } | undefined>;

  /**
   * A stream of the object at `key` (only `range` of it when given), or undefined when there is
   * none. The range must lie within the object (callers check it against `stat`).
   */
  read(key: string, range?: ByteRange): Promise<Readable | undefined>;

  /** The whole object at `key` (for small objects: manifests, cache entries), or undefined. */
  readBytes(key: string): Promise<Buffer | undefined>;

  /** Writes a small object whole. Atomic: readers see the old object or the new one, never part. */
  writeBytes(key: string, data: Uint8Array): Promise<void>;

  /**
   * Streams `body` into the object at `key` and resolves with the bytes written. Nothing is
   * visible at `key` until the whole stream has been written; if the stream or the write fails,
   * nothing is left at `key` and the promise rejects. Memory stays bounded whatever the size.
   */
  writeStream(key: string, body: Readable): Promise<{ size: number }>;

  /**
   * Moves the object at `from` to `to`, replacing any object there; `to` is never seen partial.
   * Moving a missing object rejects and leaves `to` untouched (a silent no-op could publish a
   * manifest naming a blob that is not there).
   */
  move(from: string, to: string): Promise<void>;

  /** Deletes the object at `key`; deleting a missing object is not an error. */
  delete(key: string): Promise<void>;

  /**
   * Every object whose key starts with `prefix`, with its size and last write, in no particular
   * order, fetched page by page as the caller iterates (a bucket may hold millions). `prefix` is ""
   * (everything) or a directory of keys ending in "/" (`layers/`, `cache/images/`). Objects written
   * or deleted while the listing runs may or may not appear; an overwrite moves `lastModified` on.
   * Uploads in flight (not yet visible at their key) never appear.
   */
  list(prefix: string): AsyncIterable<ListedObject>;
}
