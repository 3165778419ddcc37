/**
 * Compresses a layer tarball (gzip or zstd, origin/tarball/codec.ts) in one streaming pass,
 * computing its digest, diffID and size on the way.
 */

import { createHash } from 'node:crypto';
import { Transform, Writable } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { digestFromHex } from '../../shared/digest.ts';
import type { Digest } from '../../shared/digest.ts';
import type { LayerCompression } from '../../shared/media-types.ts';
import { CODEC_LEVELS, createCompressor } from './codec.ts';
import { recycleChunk } from './pack.ts';
import type { RecyclingStream } from './pack.ts';

/** digest/size of the compressed blob; diffId = sha256 of the uncompressed tar. */
export interface LayerDigests {
  digest: Digest;
  diffId: Digest;
  size: number;
}

export interface CompressOptions {
  /** gzip (the default) or zstd. */
  compression?: LayerCompression;
  /** The compression's level (codec.ts CODEC_LEVELS: gzip 0-9, default 6; zstd 1-19, default 3). */
  level?: number;
}

/** Smallest chunk passed on to hashing and the compressor (but the last). */
const COALESCE_TARGET = 128 * 1024;

/**
 * tar -> sha256 (diffId) -> gzip|zstd -> sha256 + byte count (digest, size) -> `sink`. Resolves
 * once both the hashing and `sink` have finished; if either fails, the other is torn down and the
 * promise rejects with the first error. `sink` must consume the stream to its end.
 */
export async function compressLayer(
  tar: Readable,
  sink: (compressed: Readable) => Promise<void>,
  options: CompressOptions = {},
): Promise<LayerDigests> {
  const compression = options.compression ?? 'gzip';
  const { stream: compressor, checkOutput } = createCompressor({ compression, level: options.level ?? CODEC_LEVELS[compression].default });

  const diffHash = createHash('sha256');
  const blobHash = createHash('sha256');
  let size = 0;
  // Hashes and the compressor get few, large writes (each compressor write is a threadpool round
  // trip), whatever the tar's chunking; the blob's bytes do not depend on how its input is split.
  const coalesced = coalesce(COALESCE_TARGET);
  // Hashes each chunk and writes it to the compressor; a chunk it has consumed goes back to packTar.
  const recycle = (tar as RecyclingStream)[recycleChunk];
  const uncompressed = compressorInput(compressor, (chunk) => diffHash.update(chunk), recycle);
  const compressed = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        checkOutput(chunk, size);
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
    for (const stream of [tar, coalesced, uncompressed, compressor, compressed]) {
      if (!stream.destroyed) stream.destroy(reason);
    }
  };

  const hashing = Promise.all([pipeline(tar, coalesced, uncompressed), pipeline(compressor, compressed)]).catch(fail);
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
 * A Writable that passes each chunk (after `seen`) to `compressor`, and hands a chunk the
 * compressor has consumed to `consumed`. It ends the compressor only once every chunk is
 * consumed, so the compressor's last call never carries data: zlib's streams otherwise end the
 * frame with the last chunk when that chunk is still queued as the stream ends, a matter of
 * timing that zstd's bytes depend on (codec.ts).
 */
export function compressorInput(compressor: Writable, seen: (chunk: Buffer) => void, consumed?: (chunk: Buffer) => void): Writable {
  let unconsumed = 0;
  let ending = false;
  const endOnceConsumed = (): void => {
    if (ending && unconsumed === 0 && !compressor.destroyed) compressor.end();
  };
  return new Writable({
    highWaterMark: COALESCE_TARGET,
    write(chunk: Buffer, _encoding, callback) {
      seen(chunk);
      unconsumed += 1;
      const done = (error?: Error | null): void => {
        unconsumed -= 1;
        if (!error) consumed?.(chunk);
        endOnceConsumed();
      };
      if (compressor.write(chunk, done)) callback();
      else compressor.once('drain', () => callback());
    },
    final(callback) {
      ending = true;
      endOnceConsumed();
      callback();
    },
  });
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
