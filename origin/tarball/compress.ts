/** Gzips a layer tarball in one streaming pass, computing its digest, diffID and size on the way. */

import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import { digestFromHex } from '../../shared/digest.ts';
import type { Digest } from '../../shared/digest.ts';

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
  const uncompressed = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      diffHash.update(chunk);
      callback(null, chunk);
    },
  });
  const gzip = createGzip({ level, memLevel: 8, strategy: constants.Z_DEFAULT_STRATEGY });
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
    for (const stream of [tar, uncompressed, gzip, compressed]) {
      if (!stream.destroyed) stream.destroy(reason);
    }
  };

  const hashing = pipeline(tar, uncompressed, gzip, compressed).catch(fail);
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
