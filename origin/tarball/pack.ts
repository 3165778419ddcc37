/**
 * Encodes layer entries as a deterministic tar stream: the bytes tar-stream 3's `pack` writes
 * (ustar, pax for long or non-ASCII names), assembled here directly into large output chunks.
 *
 * This file writes the entries strictly in their order, streaming large files straight into the
 * output chunks; the parts it drives are the read-ahead of the next entries and small files
 * (read-ahead.ts), the header encoder (tar-header.ts), the chunk writer with its pool of recycled
 * chunks (chunk-writer.ts) and the reads of source files (source-file.ts).
 */

import { Readable } from 'node:stream';
import { ChunkWriter, OUTPUT_HIGH_WATER_MARK } from './chunk-writer.ts';
import type { TarEntry } from './entry.ts';
import { ReadAhead } from './read-ahead.ts';
import { Signal } from './signal.ts';
import { checkListedSize, closeAsync, grewError, openSource, readAsync, shrankError } from './source-file.ts';
import type { SourceFile } from './source-file.ts';
import { END_OF_TAR } from './tar-header.ts';

/**
 * packTar's stream has a function under this key: a consumer done with a chunk of it (holding no
 * reference, nor views of it) may hand it back to be filled again, which keeps the chunks a layer
 * allocates to the few in flight instead of garbage awaiting the next GC. compressLayer does.
 */
export const recycleChunk: unique symbol = Symbol('nixedge.tarball.recycleChunk');
export interface RecyclingStream {
  [recycleChunk]?: (chunk: Buffer) => void;
}

/**
 * A tar stream of `entries`, in their order, byte-identical for identical entries and content:
 * uid/gid 0, no user or group names, mtime 1, the given modes, symlinks kept. Paths over ustar's
 * limits get a pax header (path/linkpath only, so still deterministic). File content is read with
 * backpressure and bounded read-ahead; a source whose size is not the entry's size, or that
 * changes while it is read, fails the stream. Any error destroys the returned stream with that
 * error.
 */
export function packTar(entries: AsyncIterable<TarEntry>): Readable {
  let stopped = false;
  const outputWanted = new Signal();
  const output = new Readable({
    highWaterMark: OUTPUT_HIGH_WATER_MARK,
    read() {
      outputWanted.notify();
    },
    destroy(error, callback) {
      stopped = true;
      outputWanted.notify();
      ahead.stop();
      callback(error);
    },
  });
  const ahead = new ReadAhead(entries);
  const chunks = new ChunkWriter(output);
  (output as Readable & RecyclingStream)[recycleChunk] = (chunk) => chunks.recycle(chunk);

  /** Resolves once the output has room for more (or the stream is gone: check `stopped`). */
  const hasRoom = async (): Promise<void> => {
    while (!stopped && output.readableLength >= output.readableHighWaterMark) await outputWanted.wait();
  };

  /** Writes every entry then the end of the tar; returns early once the stream is gone. */
  const produce = async (): Promise<void> => {
    for (;;) {
      await hasRoom();
      if (stopped) return;
      const job = await ahead.next();
      if (stopped) return;
      if (job === undefined) break;
      checkPath(job.entry.path);
      if (job.kind === 'small') {
        await job.read;
        const { entry } = job;
        chunks.header(entry, entry.size);
        chunks.write(ahead.ring.buffer.subarray(job.offset, job.offset + entry.size));
        ahead.release(job);
        chunks.pad(entry.size);
      } else if (job.entry.type === 'file' && 'source' in job.entry) {
        await streamFile(job.entry, chunks, hasRoom, () => stopped);
      } else {
        const { entry } = job;
        const content = 'content' in entry ? entry.content : undefined;
        chunks.header(entry, content?.byteLength ?? 0);
        if (content !== undefined) {
          chunks.write(content);
          chunks.pad(content.byteLength);
        }
      }
    }
    chunks.write(END_OF_TAR);
    chunks.flush();
    output.push(null);
  };

  void produce().catch((error: unknown) => {
    stopped = true;
    ahead.stop();
    output.destroy(error instanceof Error ? error : new Error(String(error)));
  });

  return output;
}

/** Streams a large file into the output, checking it still has the size it was listed with. */
async function streamFile(
  entry: SourceFile,
  chunks: ChunkWriter,
  hasRoom: () => Promise<void>,
  stopped: () => boolean,
): Promise<void> {
  const fd = await openSource(entry);
  try {
    await checkListedSize(fd, entry);
    chunks.header(entry, entry.size);
    let position = 0;
    while (position < entry.size) {
      const { buffer, offset, room } = chunks.space();
      const bytesRead = await readAsync(fd, buffer, offset, Math.min(room, entry.size - position), position, entry);
      if (bytesRead === 0) throw shrankError(entry, position);
      position += bytesRead;
      if (chunks.advance(bytesRead)) {
        await hasRoom();
        if (stopped()) return;
      }
    }
    if ((await readAsync(fd, probeBuffer, 0, 1, position, entry)) !== 0) {
      throw grewError(entry);
    }
    chunks.pad(entry.size);
  } finally {
    await closeAsync(fd);
  }
}

/** The 1-byte read past a streamed file's end that proves it did not grow (its content is never used). */
const probeBuffer = Buffer.alloc(1);

/** Refuses paths that would extract outside the image root or be read differently by tar. */
function checkPath(path: string): void {
  const parts = path.split('/');
  if (path === '' || parts.some((part) => part === '' || part === '.' || part === '..') || path.includes('\0')) {
    throw new Error(`Invalid tar entry path: ${JSON.stringify(path)}`);
  }
}
