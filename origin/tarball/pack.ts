/** Encodes layer entries as a deterministic tar stream (tar-stream's ustar, pax for long names). */

import { Readable } from 'node:stream';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { pack as createPack } from 'tar-stream';
import type { Header, Pack } from 'tar-stream';

type Headers = Partial<Header> & Pick<Header, 'name'>;
type Sink = ReturnType<Pack['entry']>;
import type { TarEntry } from './entry.ts';

/** Every entry's mtime: 1 s after the epoch (0 reads as "unset" to some tools), as in Nixery. */
const MTIME = new Date(1000);
/** File content is read in chunks of this size, so memory stays flat whatever the file size. */
const CHUNK_SIZE = 256 * 1024;
const OUTPUT_HIGH_WATER_MARK = 64 * 1024;
// File-type bits OR-ed into modes: tar-stream replaces a mode of 0 with its default, and masks
// these bits off when it encodes, so a real mode of 0000 survives.
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/**
 * A tar stream of `entries`, in their order, byte-identical for identical entries and content:
 * uid/gid 0, no user or group names, mtime 1, the given modes, symlinks kept. Paths over ustar's
 * limits get a pax header (path/linkpath only, so still deterministic). File content is streamed
 * with backpressure; a source whose size is not the entry's size, or that changes while it is
 * read, fails the stream. Any error destroys the returned stream with that error.
 */
export function packTar(entries: AsyncIterable<TarEntry>): Readable {
  const tar = createPack();
  let paused = false;
  let wake: (() => void) | undefined;
  const wakeProducer = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };

  const output = new Readable({
    highWaterMark: OUTPUT_HIGH_WATER_MARK,
    read() {
      if (paused) {
        paused = false;
        tar.resume();
      }
      wakeProducer();
    },
    destroy(error, callback) {
      wakeProducer();
      if (!tar.destroyed) tar.destroy(error ?? undefined);
      callback(error);
    },
  });

  tar.on('data', (chunk: unknown) => {
    if (!output.push(chunk)) {
      paused = true;
      tar.pause();
    }
  });
  let ended = false;
  tar.on('end', () => {
    ended = true;
    output.push(null);
  });
  tar.on('error', (error: Error) => output.destroy(error));
  tar.on('close', () => {
    if (!ended && !output.destroyed) output.destroy(new Error('tar stream closed before its end'));
  });

  // Entries are added only while the output wants data: headers are pushed by tar-stream without
  // backpressure, so this is what bounds memory for layers of many small entries.
  const hasRoom = async (): Promise<void> => {
    while (!output.destroyed && (paused || output.readableLength >= output.readableHighWaterMark)) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };

  const produce = async (): Promise<void> => {
    for await (const entry of entries) {
      await hasRoom();
      if (output.destroyed) return;
      await addEntry(tar, entry);
    }
    tar.finalize();
  };

  void produce().catch((error: unknown) => {
    const reason = error instanceof Error ? error : new Error(String(error));
    output.destroy(reason);
    if (!tar.destroyed) tar.destroy(reason);
  });

  return output;
}

/** Adds one entry and resolves once tar-stream has taken all of it. */
async function addEntry(tar: Pack, entry: TarEntry): Promise<void> {
  checkPath(entry.path);
  if (entry.type === 'file' && 'source' in entry) {
    await addSourceFile(tar, entry);
    return;
  }
  const header = headerFor(entry);
  const content =
    entry.type === 'file' ? Buffer.from(entry.content.buffer, entry.content.byteOffset, entry.content.byteLength) : undefined;
  await new Promise<void>((resolve, reject) => {
    const done = (error?: Error | null): void => (error ? reject(error) : resolve());
    const sink = content === undefined ? tar.entry(header, done) : tar.entry(header, content, done);
    sink.on('error', ignore); // reported through `done`
  });
}

type SourceFile = Extract<TarEntry, { source: string }>;

/** Streams a file's content from disk into its entry, checking it still has the size it was listed with. */
async function addSourceFile(tar: Pack, entry: SourceFile): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(entry.source, 'r');
  } catch (error) {
    throw new Error(`Cannot open ${entry.source} (for ${entry.path})`, { cause: error });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new Error(`${entry.source} is no longer a regular file`);
    if (stats.size !== entry.size) {
      throw new Error(`${entry.source} changed size: listed with ${entry.size} bytes, now ${stats.size}`);
    }

    let sink: Sink | undefined;
    const done = new Promise<void>((resolve, reject) => {
      sink = tar.entry({ ...headerFor(entry), size: entry.size }, (error) => (error ? reject(error) : resolve()));
    });
    done.catch(ignore); // awaited below, unless reading fails first
    if (sink === undefined) throw new Error('tar-stream did not return an entry stream');
    sink.on('error', ignore); // reported through `done`

    let position = 0;
    while (position < entry.size) {
      const length = Math.min(CHUNK_SIZE, entry.size - position);
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      if (bytesRead === 0) {
        throw new Error(`${entry.source} shrank while being read: listed with ${entry.size} bytes, ended at ${position}`);
      }
      position += bytesRead;
      if (!sink.write(bytesRead === length ? buffer : buffer.subarray(0, bytesRead))) await drained(sink);
    }
    const probe = await handle.read(Buffer.alloc(1), 0, 1, position);
    if (probe.bytesRead !== 0) {
      throw new Error(`${entry.source} grew while being read: listed with ${entry.size} bytes`);
    }
    sink.end(null);
    await done;
  } finally {
    await handle.close();
  }
}

/** Resolves when an entry stream wants more data; rejects if it is torn down instead. */
function drained(sink: Sink): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (sink.destroyed) {
      reject(new Error('tar entry closed before its content was written'));
      return;
    }
    const cleanup = (): void => {
      sink.off('drain', onDrain);
      sink.off('close', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('tar entry closed before its content was written'));
    };
    sink.on('drain', onDrain);
    sink.on('close', onClose);
  });
}

/** The tar-stream header of an entry; everything that is not content is fixed here. */
function headerFor(entry: TarEntry): Headers {
  const common = { uid: 0, gid: 0, mtime: MTIME };
  switch (entry.type) {
    case 'directory':
      // tar-stream does not add the trailing slash tar uses for directory names.
      return { ...common, name: `${entry.path}/`, type: 'directory', mode: S_IFDIR | (entry.mode & 0o7777) };
    case 'symlink':
      return { ...common, name: entry.path, type: 'symlink', mode: S_IFLNK | 0o777, linkname: entry.target };
    case 'file':
      return { ...common, name: entry.path, type: 'file', mode: S_IFREG | (entry.mode & 0o7777) };
  }
}

/** Refuses paths that would extract outside the image root or be read differently by tar. */
function checkPath(path: string): void {
  const parts = path.split('/');
  if (path === '' || parts.some((part) => part === '' || part === '.' || part === '..') || path.includes('\0')) {
    throw new Error(`Invalid tar entry path: ${JSON.stringify(path)}`);
  }
}

function ignore(): void {}
