/**
 * The read-ahead of packTar: takes entries from the iterator ahead of the one being written
 * (up to READ_AHEAD_FILES of them) and reads small files whole, concurrently, into one reused
 * ring buffer of READ_AHEAD_BYTES, since layers of many small files are bound by per-file
 * latency, not bandwidth. Jobs come out strictly in entry order.
 */

import type { TarEntry } from './entry.ts';
import { Signal } from './signal.ts';
import { checkListedSize, closeAsync, grewError, openSource, readAsync, shrankError } from './source-file.ts';
import type { SourceFile } from './source-file.ts';

/** Files below this size are read whole, ahead of time; larger ones are streamed when their turn comes. */
const SMALL_FILE_LIMIT = 256 * 1024;
/** Entries taken from the iterator ahead of the one being written. */
const READ_AHEAD_FILES = 64;
/** The ring buffer small files are read ahead into (allocated once per stream, reused). */
const READ_AHEAD_BYTES = 4 * 1024 * 1024;

/** One entry ready to be written: small source files come with their content being read into the ring. */
export type Job =
  | { kind: 'entry'; entry: TarEntry }
  | { kind: 'small'; entry: SourceFile; read: Promise<void>; offset: number; held: number };

/**
 * Takes entries from the iterator ahead of the writer and starts reading small files' content.
 * An error of the iterator is reported in order, after the entries before it.
 */
export class ReadAhead {
  readonly ring = new Ring(READ_AHEAD_BYTES);
  readonly #queue: Job[] = [];
  readonly #iterator: AsyncIterator<TarEntry>;
  readonly #queued = new Signal();
  readonly #room = new Signal();
  #done = false;
  #failure: { error: unknown } | undefined;
  #stopped = false;

  /** Starts taking entries from `entries` at once. */
  constructor(entries: AsyncIterable<TarEntry>) {
    this.#iterator = entries[Symbol.asyncIterator]();
    void this.#fill();
  }

  /** The next job in entry order; undefined at the end. Rejects with the iterator's error in its place. */
  async next(): Promise<Job | undefined> {
    for (;;) {
      const job = this.#queue.shift();
      if (job !== undefined) {
        this.#room.notify();
        return job;
      }
      if (this.#failure !== undefined) throw this.#failure.error;
      if (this.#done || this.#stopped) return undefined;
      await this.#queued.wait();
    }
  }

  /** Frees a small file's ring space once its content has been copied out. */
  release(job: Extract<Job, { kind: 'small' }>): void {
    this.ring.free(job.held);
    this.#room.notify();
  }

  /** Stops taking entries and closes the iterator (reads in flight finish on their own). */
  stop(): void {
    this.#stopped = true;
    this.#room.notify();
    this.#queued.notify();
  }

  /** Queues jobs while there is room (in entries and ring space) until the end, a failure or `stop`. */
  async #fill(): Promise<void> {
    try {
      for (;;) {
        while (!this.#stopped && this.#queue.length >= READ_AHEAD_FILES) await this.#room.wait();
        if (this.#stopped) break;
        const result = await this.#iterator.next();
        if (result.done === true) {
          this.#done = true;
          break;
        }
        const entry = result.value;
        if (entry.type === 'file' && 'source' in entry && entry.size < SMALL_FILE_LIMIT) {
          // One byte more than listed, to see a file that grew in the same read.
          let slot = this.ring.alloc(entry.size + 1);
          while (slot === undefined && !this.#stopped) {
            await this.#room.wait();
            slot = this.ring.alloc(entry.size + 1);
          }
          if (slot === undefined) break;
          const read = readSmallFile(entry, this.ring.buffer, slot.offset);
          read.catch(ignore); // reported when the writer reaches it
          this.#queue.push({ kind: 'small', entry, read, offset: slot.offset, held: slot.held });
        } else {
          this.#queue.push({ kind: 'entry', entry });
        }
        this.#queued.notify();
      }
    } catch (error) {
      this.#failure = { error };
    } finally {
      this.#queued.notify();
    }
    if (this.#stopped && !this.#done && this.#failure === undefined) {
      await this.#iterator.return?.().catch(ignore);
    }
  }
}

/** Reads a small file whole into `buffer` at `offset` (room for size + 1 bytes), checking its size. */
async function readSmallFile(entry: SourceFile, buffer: Buffer, offset: number): Promise<void> {
  const fd = await openSource(entry);
  try {
    const wanted = entry.size + 1;
    let position = 0;
    for (;;) {
      const bytesRead = await readAsync(fd, buffer, offset + position, wanted - position, position, entry);
      position += bytesRead;
      // A short read of a regular file means its end; only a read that stopped short of the
      // listed size is retried (reads may be partial), until the file's end says it shrank.
      if (bytesRead === 0 || position >= entry.size) break;
    }
    if (position !== entry.size) {
      await checkListedSize(fd, entry);
      throw position < entry.size ? shrankError(entry, position) : grewError(entry);
    }
  } finally {
    await closeAsync(fd);
  }
}

/**
 * A fixed buffer handed out first in, first out: allocations advance the head (skipping the end
 * of the buffer when an allocation does not fit there), frees advance the tail.
 */
class Ring {
  readonly buffer: Buffer;
  #head = 0;
  #tail = 0;
  #used = 0;

  /** A ring of `size` bytes. */
  constructor(size: number) {
    // Pages are only touched as the ring fills, so a stream of tiny files costs little.
    this.buffer = Buffer.allocUnsafe(size);
  }

  /** `length` bytes at `offset`; `held` (length plus any skipped end) goes back to `free`. */
  alloc(length: number): { offset: number; held: number } | undefined {
    const size = this.buffer.length;
    if (this.#used === 0) {
      this.#head = 0;
      this.#tail = 0;
    }
    if (this.#used > 0 && this.#head === this.#tail) return undefined; // full
    if (this.#head >= this.#tail) {
      if (size - this.#head >= length) return this.#take(this.#head, length, length);
      if (this.#tail >= length) return this.#take(0, length, size - this.#head + length);
      return undefined;
    }
    return this.#tail - this.#head >= length ? this.#take(this.#head, length, length) : undefined;
  }

  /** Frees the oldest allocation (allocations are freed in the order they were made). */
  free(held: number): void {
    this.#used -= held;
    this.#tail = (this.#tail + held) % this.buffer.length;
  }

  /** Records an allocation at `offset` that holds `held` bytes of the ring. */
  #take(offset: number, length: number, held: number): { offset: number; held: number } {
    this.#head = offset + length;
    this.#used += held;
    return { offset, held };
  }
}

/** Swallows a rejection that is reported elsewhere. */
function ignore(): void {}
