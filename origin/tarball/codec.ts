/**
 * Layer codecs: the compressor that turns a layer's tar into its blob, with every parameter that
 * changes the bytes fixed here, so that the same tar gives the same blob on any machine and run.
 *
 *   gzip   zlib deflate, memLevel 8, default strategy; header with mtime 0, no flags, OS byte 3.
 *   zstd   one frame, single-threaded (nbWorkers 0), the level's parameters for an input of
 *          unknown size, content checksum on, no content size, no dictionary, no long-distance
 *          matching. The frame's bytes depend on the level and the data, and on one thing more:
 *          whether the call that ends the frame carries data. Node's zlib ends it with the last
 *          chunk when that chunk is still queued as the stream ends (a matter of timing), and
 *          zstd then compresses that piece differently (measured: other bytes for the same data).
 *          compress.ts therefore ends the stream only once every chunk has been consumed, so the
 *          frame always ends with an empty call; then the bytes do not depend on how the tar
 *          was split into writes, nor on timing (codec.test.ts).
 *
 * Both depend on the library's version too (zlib, libzstd as bundled with Node); the layer cache
 * keeps each layer's first blob, so an upgrade changes only layers built afresh.
 */

import type { Transform } from 'node:stream';
import { constants, createGzip, createZstdCompress } from 'node:zlib';
import type { LayerCompression } from '../../shared/media-types.ts';

/** A compression and its level: everything that changes the bytes of a layer. */
export interface LayerCodec {
  compression: LayerCompression;
  level: number;
}

/** The levels each compression takes, and its default (gzip 6 is zlib's; zstd 3 is zstd's). */
export const CODEC_LEVELS: Record<LayerCompression, { min: number; max: number; default: number }> = {
  gzip: { min: 0, max: 9, default: 6 },
  // 20-22 ("ultra") need windows of up to 128 MiB on every client that pulls: not offered.
  zstd: { min: 1, max: 19, default: 3 },
};

/** A compressor for one layer, and the check each chunk of its output passes. */
export interface Compressor {
  stream: Transform;
  /** Checks (and for gzip, pins) the header bytes in `chunk`, found at `offset` in the blob. */
  checkOutput: (chunk: Buffer, offset: number) => void;
}

/** The gzip header's OS byte we always write (3 = Unix), whatever zlib was built for. */
const GZIP_OS_UNIX = 3;
/** zlib's output buffer: each one filled is a threadpool round trip. The bytes do not depend on it. */
const OUTPUT_CHUNK_SIZE = 64 * 1024;
/** zstd's frame magic number, little-endian on the wire. */
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
/** The frame header descriptor our parameters give: checksum flag only (no content size, dictionary or single segment). */
const ZSTD_FRAME_DESCRIPTOR = 0x04;
/** ZSTD_ps_disable (ZSTD_paramSwitch_e): 0 would be "auto", not off. */
const ZSTD_PS_DISABLE = 2;

/** "gzip-6", "zstd-3": the codec as cache keys and logs name it. */
export function codecId(codec: LayerCodec): string {
  return `${codec.compression}-${codec.level}`;
}

/** Throws a RangeError for a level the compression does not take. */
export function checkCodec(codec: LayerCodec): void {
  const levels = CODEC_LEVELS[codec.compression];
  if (!Number.isInteger(codec.level) || codec.level < levels.min || codec.level > levels.max) {
    throw new RangeError(`${codec.compression} level must be ${levels.min}-${levels.max}, got ${codec.level}`);
  }
}

/** A fresh compressor with the codec's fixed parameters. */
export function createCompressor(codec: LayerCodec): Compressor {
  checkCodec(codec);
  if (codec.compression === 'gzip') {
    const stream = createGzip({ level: codec.level, memLevel: 8, strategy: constants.Z_DEFAULT_STRATEGY, chunkSize: OUTPUT_CHUNK_SIZE });
    return { stream, checkOutput: normaliseGzipHeader };
  }
  const stream = createZstdCompress({
    chunkSize: OUTPUT_CHUNK_SIZE,
    params: {
      [constants.ZSTD_c_compressionLevel]: codec.level,
      [constants.ZSTD_c_checksumFlag]: 1,
      [constants.ZSTD_c_contentSizeFlag]: 0,
      [constants.ZSTD_c_dictIDFlag]: 0,
      [constants.ZSTD_c_nbWorkers]: 0,
      [constants.ZSTD_c_enableLongDistanceMatching]: ZSTD_PS_DISABLE,
    },
  });
  return { stream, checkOutput: checkZstdHeader };
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
 * Checks the zstd frame's magic number and header descriptor: a frame that recorded its content
 * size or another layout would mean the parameters above no longer hold, and the bytes would
 * depend on how the tar was written.
 */
function checkZstdHeader(chunk: Buffer, offset: number): void {
  for (let position = offset; position < 5 && position - offset < chunk.length; position++) {
    const byte = chunk[position - offset];
    if (position < 4 && byte !== ZSTD_MAGIC[position]) throw new Error('Unexpected zstd frame magic number');
    if (position === 4 && byte !== ZSTD_FRAME_DESCRIPTOR) throw new Error(`Unexpected zstd frame header descriptor ${byte}`);
  }
}
