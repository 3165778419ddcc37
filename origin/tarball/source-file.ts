/**
 * Reading a file entry's source: open, read, fstat and close as promises over the callback fs API
 * (cheaper per call than FileHandle), with errors naming the source and the entry it is for, and
 * the checks and errors for a source that is no longer what it was listed as.
 */

import { close, constants as fsConstants, fstat, open, read } from 'node:fs';
import type { Stats } from 'node:fs';
import type { TarEntry } from './entry.ts';

/** A file entry whose content is read from a host path. */
export type SourceFile = Extract<TarEntry, { source: string }>;

const OPEN_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NONBLOCK;

/** Opens the entry's source for reading, returning its file descriptor. */
export async function openSource(entry: SourceFile): Promise<number> {
  try {
    return await new Promise<number>((resolve, reject) => {
      open(entry.source, OPEN_FLAGS, (error, fd) => (error ? reject(error) : resolve(fd)));
    });
  } catch (error) {
    throw new Error(`Cannot open ${entry.source} (for ${entry.path})`, { cause: error });
  }
}

/** Reads up to `length` bytes at `position` of the entry's open source into `buffer` at `offset`. */
export async function readAsync(fd: number, buffer: Buffer, offset: number, length: number, position: number, entry: SourceFile): Promise<number> {
  try {
    return await new Promise<number>((resolve, reject) => {
      read(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
    });
  } catch (error) {
    throw new Error(`Cannot read ${entry.source} (for ${entry.path})`, { cause: error });
  }
}

/** Throws unless the open source is still a regular file of the size its entry was listed with. */
export async function checkListedSize(fd: number, entry: SourceFile): Promise<void> {
  const stats = await fstatAsync(fd);
  if (!stats.isFile()) throw new Error(`${entry.source} is no longer a regular file`);
  if (stats.size !== entry.size) {
    throw new Error(`${entry.source} changed size: listed with ${entry.size} bytes, now ${stats.size}`);
  }
}

/** The error for a source whose content ended at `position`, short of its listed size. */
export function shrankError(entry: SourceFile, position: number): Error {
  return new Error(`${entry.source} shrank while being read: listed with ${entry.size} bytes, ended at ${position}`);
}

/** The error for a source with more content than its listed size. */
export function grewError(entry: SourceFile): Error {
  return new Error(`${entry.source} grew while being read: listed with ${entry.size} bytes`);
}

/** The stats of an open file. */
function fstatAsync(fd: number): Promise<Stats> {
  return new Promise<Stats>((resolve, reject) => {
    fstat(fd, (error, stats) => (error ? reject(error) : resolve(stats)));
  });
}

/** Closes an open file. */
export function closeAsync(fd: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    close(fd, (error) => (error ? reject(error) : resolve()));
  });
}
