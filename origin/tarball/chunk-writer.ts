/**
 * The output side of packTar: assembles the tar into CHUNK_SIZE chunks (the last one shorter) and
 * pushes each full one to the output stream, so hashing and gzip see few, large writes. Chunks a
 * consumer hands back are kept in a small pool and filled again.
 */

import type { Readable } from 'node:stream';
import type { TarEntry } from './entry.ts';
import { encodeHeaders, padding } from './tar-header.ts';

/**
 * Output chunk size; also how much of a large file is read at once. Not exported: V8 folds a
 * module's own constants but reads exported ones through a cell at each use, in the hot loops here.
 */
const CHUNK_SIZE = 256 * 1024;
/** Output buffered before the producer waits: one chunk, and one being filled. */
export const OUTPUT_HIGH_WATER_MARK = CHUNK_SIZE;
/** Chunks kept for reuse per stream: more than are ever in flight through compressLayer. */
const CHUNK_POOL_SIZE = 8;

/** Assembles the tar into CHUNK_SIZE chunks and pushes each full one to the output. */
export class ChunkWriter {
  readonly #output: Readable;
  readonly #pool: Buffer[] = [];
  /** Chunks pushed and not yet handed back: only these are taken back. */
  readonly #issued = new WeakSet<Buffer>();
  #chunk: Buffer;
  #position = 0;

  /** A writer pushing its chunks to `output`. */
  constructor(output: Readable) {
    this.#output = output;
    this.#chunk = this.#newChunk();
  }

  /** Takes back a chunk this writer pushed, once its consumer is done with it. */
  recycle(chunk: Buffer): void {
    if (!this.#issued.delete(chunk) || this.#pool.length >= CHUNK_POOL_SIZE) return;
    this.#pool.push(chunk);
  }

  /** A chunk to fill: a recycled one if any, else a new one; either way marked as issued. */
  #newChunk(): Buffer {
    const chunk = this.#pool.pop() ?? Buffer.allocUnsafe(CHUNK_SIZE);
    this.#issued.add(chunk);
    return chunk;
  }

  /** Copies `bytes` in. */
  write(bytes: Uint8Array): void {
    let from = 0;
    while (from < bytes.byteLength) {
      const length = Math.min(bytes.byteLength - from, CHUNK_SIZE - this.#position);
      this.#chunk.set(bytes.subarray(from, from + length), this.#position);
      from += length;
      this.advance(length);
    }
  }

  /** Zeros up to the next 512-byte boundary after `size` bytes of content. */
  pad(size: number): void {
    const zeros = padding(size);
    if (zeros.byteLength !== 0) this.write(zeros);
  }

  /** The header block(s) of `entry` with content of `size` bytes. */
  header(entry: TarEntry, size: number): void {
    encodeHeaders(entry, size, (bytes) => this.write(bytes));
  }

  /** Where the next bytes go, for reading straight into the chunk; then call `advance`. */
  space(): { buffer: Buffer; offset: number; room: number } {
    return { buffer: this.#chunk, offset: this.#position, room: CHUNK_SIZE - this.#position };
  }

  /** Marks `length` more bytes written; true if that completed (and pushed) a chunk. */
  advance(length: number): boolean {
    this.#position += length;
    if (this.#position < CHUNK_SIZE) return false;
    this.#output.push(this.#chunk);
    this.#chunk = this.#newChunk();
    this.#position = 0;
    return true;
  }

  /** Pushes what is left (the end of the tar). */
  flush(): void {
    if (this.#position > 0) this.#output.push(this.#chunk.subarray(0, this.#position));
    this.#position = 0;
  }
}
