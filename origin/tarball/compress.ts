/** Gzips a layer tarball in one streaming pass, computing its digest, diffID and size on the way. */

import { createHash } from 'node:crypto';
import { Transform, Writable } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import { digestFromHex } from '../../shared/digest.ts';
import type { Digest } from '../../shared/digest.ts';
import { recycleChunk } from './pack.ts';
import type { RecyclingStream } from './pack.ts';

/** digest/size of the compressed blob; diffId = sha256 of the uncompressed tar. */
export interface LayerDigests {
  digest: Digest;
  diffId: Digest;
  size: number;
}

export interface CompressOptions {
  /** gzip level 0-9; 6 (zlib's default) unless given. */
  level?: number;
}

/** The gzip header's OS byte we always write (3 = Unix), whatever zlib was built for. */
const GZIP_OS_UNIX = 3;
/** Smallest chunk passed on to hashing and gzip (but the last). */
const COALESCE_TARGET = 128 * 1024;
/** zlib's output buffer: each one filled is a threadpool round trip. The bytes do not depend on it. */
const GZIP_CHUNK_SIZE = 64 * 1024;

/**
 * tar -> sha256 (diffId) -> gzip -> sha256 + byte count (digest, size) -> `sink`. Resolves once
 * both the hashing and `sink` have finished; if either fails, the other is torn down and the
 * promise rejects with the first error. `sink` must consume the stream to its end.
 */
export async function compressLayer(
  tar: Readable,
  sink: (compressed: Readable) => Promise<void>,
  options: CompressOptions = {},
): Promise<LayerDigests> {
  const level = options.level ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new RangeError(`gzip level must be 0-9, got ${level}`);

  const diffHash = createHash('sha256');
  const blobHash = createHash('sha256');
  let size = 0;
  // Hashes and gzip get few, large writes (each gzip write is a threadpool round trip), whatever
  // the tar's chunking; the gzip bytes do not depend on how its input is split.
  const coalesced = coalesce(COALESCE_TARGET);
  const gzip = createGzip({ level, memLevel: 8, strategy: constants.Z_DEFAULT_STRATEGY, chunkSize: GZIP_CHUNK_SIZE });
  // Hashes each chunk and writes it to gzip; a chunk gzip has consumed goes back to packTar.
  const recycle = (tar as RecyclingStream)[recycleChunk];
  const uncompressed = new Writable({
    highWaterMark: COALESCE_TARGET,
    write(chunk: Buffer, _encoding, callback) {
      diffHash.update(chunk);
      const consumed = recycle === undefined ? undefined : (error?: Error | null): void => {
        if (!error) recycle(chunk);
      };
      if (gzip.write(chunk, consumed)) callback();
      else gzip.once('drain', () => callback());
    },
    final(callback) {
      gzip.end();
      callback();
    },
  });
  const compressed = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        normaliseGzipHeader(chunk, size);
      } catch (error) {
        callback(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      blobHash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });

  let firstError: { error: unknown } | undefined;
  const fail = (error: unknown): void => {
    firstError ??= { error };
    const reason = error instanceof Error ? error : new Error(String(error));
    for (const stream of [tar, coalesced, uncompressed, gzip, compressed]) {
      if (!stream.destroyed) stream.destroy(reason);
    }
  };

  const hashing = Promise.all([pipeline(tar, coalesced, uncompressed), pipeline(gzip, compressed)]).catch(fail);
  const sinking = (async () => sink(compressed))().then(
    () => {
      if (!compressed.readableEnded) fail(new Error('The layer sink finished before reading the whole layer'));
    },
    fail,
  );
  await Promise.all([hashing, sinking]);

  if (firstError !== undefined) throw firstError.error;
  return { digest: digestFromHex(blobHash.digest('hex')), diffId: digestFromHex(diffHash.digest('hex')), size };
}

/**
 * Checks the part of the 10-byte gzip header that could vary (no flags, mtime 0) and pins the OS
 * byte, so the same tar gives the same blob on any platform. `offset` is the chunk's position in
 * the gzip stream; the header may straddle chunks.
 */
function normaliseGzipHeader(chunk: Buffer, offset: number): void {
  for (let position = offset; position < 10 && position - offset < chunk.length; position++) {
    const index = position - offset;
    const byte = chunk[index];
    if (position === 3 && byte !== 0) throw new Error(`Unexpected gzip header flags ${byte}`);
    if (position >= 4 && position <= 7 && byte !== 0) throw new Error('Unexpected gzip header mtime (expected 0)');
    if (position === 9) chunk[index] = GZIP_OS_UNIX;
  }
}

/**
 * Passes on chunks of at least `target` bytes (the last one may be shorter): smaller chunks are
 * copied together, chunks already that large go through as they are when nothing is pending.
 */
export function coalesce(target: number): Transform {
  let pending: Buffer | undefined;
  let length = 0;
  return new Transform({
    highWaterMark: target,
    transform(chunk: Buffer, _encoding, callback) {
      let from = 0;
      while (from < chunk.length) {
        if (length === 0 && chunk.length - from >= target) {
          this.push(from === 0 ? chunk : chunk.subarray(from));
          break;
        }
        pending ??= Buffer.allocUnsafe(target);
        const take = Math.min(chunk.length - from, target - length);
        chunk.copy(pending, length, from, from + take);
        length += take;
        from += take;
        if (length === target) {
          this.push(pending);
          pending = undefined;
          length = 0;
        }
      }
      callback();
    },
    flush(callback) {
      if (pending !== undefined && length > 0) this.push(pending.subarray(0, length));
      pending = undefined;
      length = 0;
      callback();
    },
  });
}
