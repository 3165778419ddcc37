/**
 * Storage on a local directory (the origin alone, as Nixery's filesystem backend): the object at
 * key `layers/<hex>` is the file `<root>/layers/<hex>`, so a Nixery storage directory is served
 * as-is. Writes go to a temp file in `<root>/.tmp/` (same filesystem), are fsynced and renamed
 * into place, so readers see the old object or the new one, never part of one.
 */

import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { Dirent } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { assertValidKey, assertValidPrefix } from './keys-guard.ts';
import type { ByteRange, ListedObject } from './storage.ts';
import type { StorageBackend, StorageErrorKind } from './storage-error.ts';

/** The directory under the root that holds writes in flight; no key may start with it. */
export const TEMP_DIR = '.tmp';

/** Temp files untouched for this long are left over from a crash (see sweepStaleTemp). */
export const STALE_TEMP_AGE_MS = 60 * 60 * 1000;

/** Error codes meaning "no object at this path" (a path segment may be a file, or the key a directory). */
const ABSENT_CODES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

function errorCode(error: unknown): string | undefined {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}

function isAbsent(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && ABSENT_CODES.has(code);
}

export class FilesystemStorage implements StorageBackend {
  readonly name = 'filesystem';

  /** The kind of a failed file system call: permissions, a missing root, or the disk itself. */
  classify(error: unknown): StorageErrorKind | undefined {
    let code: unknown;
    for (let current = error, depth = 0; current instanceof Error && code === undefined && depth < 5; current = current.cause, depth++) {
      code = (current as NodeJS.ErrnoException).code;
    }
    if (typeof code !== 'string') return undefined;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return 'denied';
    if (code === 'ENOENT') return 'not-found'; // a missing object is `undefined`: this is the root
    if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'ELOOP' || code === 'ENAMETOOLONG') return 'misconfigured';
    return 'unavailable'; // EIO, ENOSPC, EMFILE, EBUSY ...: the disk, now
  }
  /** The absolute root directory. */
  readonly root: string;
  readonly #tempDir: string;

  constructor(root: string) {
    if (typeof root !== 'string' || root.length === 0) {
      throw new Error(`Expected a storage root directory, got ${JSON.stringify(root)}`);
    }
    this.root = resolve(root);
    this.#tempDir = join(this.root, TEMP_DIR);
  }

  /** The file holding the object at `key`, after validating the key (it never leaves the root). */
  pathOf(key: string): string {
    assertValidKey(key);
    if (key === TEMP_DIR || key.startsWith(`${TEMP_DIR}/`)) {
      throw new Error(`Expected a storage key outside the reserved "${TEMP_DIR}/" directory, got ${JSON.stringify(key)}`);
    }
    const path = join(this.root, ...key.split('/'));
    if (!path.startsWith(this.root + sep)) {
      // Unreachable after assertValidKey; kept so no future change can write outside the root.
      throw new Error(`Expected key ${JSON.stringify(key)} to stay inside ${this.root}, got ${path}`);
    }
    return path;
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    const path = this.pathOf(key);
    try {
      const stats = await stat(path);
      return stats.isFile() ? { size: stats.size } : undefined;
    } catch (error) {
      if (isAbsent(error)) return undefined;
      throw new Error(`Failed to stat ${key} in ${this.root}`, { cause: error });
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable | undefined> {
    const path = this.pathOf(key);
    if (range && !(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && range.start >= 0 && range.end >= range.start)) {
      throw new RangeError(`Expected a byte range with 0 <= start <= end, got ${JSON.stringify(range)}`);
    }
    // Open first so a missing object is reported here, and so the stream reads the file that
    // existed at this moment even if it is replaced or deleted while being read.
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if (isAbsent(error)) return undefined;
      throw new Error(`Failed to open ${key} in ${this.root}`, { cause: error });
    }
    try {
      if (!(await handle.stat()).isFile()) {
        await handle.close();
        return undefined;
      }
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw new Error(`Failed to stat ${key} in ${this.root}`, { cause: error });
    }
    // autoClose: the handle is closed when the stream ends, fails or is destroyed.
    return handle.createReadStream({ autoClose: true, ...(range ? { start: range.start, end: range.end } : {}) });
  }

  async readBytes(key: string): Promise<Buffer | undefined> {
    const path = this.pathOf(key);
    try {
      return await readFile(path);
    } catch (error) {
      if (isAbsent(error)) return undefined;
      throw new Error(`Failed to read ${key} in ${this.root}`, { cause: error });
    }
  }

  async writeBytes(key: string, data: Uint8Array): Promise<void> {
    const path = this.pathOf(key);
    await this.#writeAtomically(key, path, async (tempPath) => {
      const handle = await open(tempPath, 'wx', 0o644);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
  }

  async writeStream(key: string, body: Readable): Promise<{ size: number }> {
    const path = this.pathOf(key);
    let size = 0;
    await this.#writeAtomically(key, path, async (tempPath) => {
      // flush: the file is fsynced before it is closed, and pipeline resolves only after the
      // close. (A stream over a FileHandle we close ourselves can wait forever for the stream's
      // reference to the handle, so the stream owns its descriptor.)
      const sink = createWriteStream(tempPath, { flags: 'wx', mode: 0o644, flush: true });
      await pipeline(body, sink);
      size = sink.bytesWritten;
    });
    return { size };
  }

  async move(from: string, to: string): Promise<void> {
    const fromPath = this.pathOf(from);
    const toPath = this.pathOf(to);
    const source = await this.stat(from);
    if (!source) {
      throw new Error(`Expected an object at ${JSON.stringify(from)} to move to ${JSON.stringify(to)}, got none`);
    }
    await makeParent(to, toPath, this.root);
    try {
      await rename(fromPath, toPath);
    } catch (error) {
      if (errorCode(error) === 'ENOENT' && !(await this.stat(from))) {
        throw new Error(`Expected an object at ${JSON.stringify(from)} to move to ${JSON.stringify(to)}, got none`, { cause: error });
      }
      throw new Error(`Failed to move ${from} to ${to} in ${this.root}`, { cause: error });
    }
    await syncDirectory(dirname(toPath));
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (error) {
      if (isAbsent(error)) return;
      // A directory at `path` only holds other keys (`key` is their prefix): no object here.
      // (Linux answers EISDIR, handled above; macOS answers EPERM.)
      const isDirectory = await stat(path).then((s) => s.isDirectory(), () => false);
      if (errorCode(error) === 'EPERM' && isDirectory) return;
      throw new Error(`Failed to delete ${key} in ${this.root}`, { cause: error });
    }
  }

  /** Walks the directory of `prefix` depth first; temp files in flight are not objects. */
  async *list(prefix: string): AsyncGenerator<ListedObject> {
    assertValidPrefix(prefix);
    const start = prefix === '' ? this.root : join(this.root, ...prefix.slice(0, -1).split('/'));
    const pending: { path: string; key: string }[] = [{ path: start, key: prefix }];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      let entries: Dirent[];
      try {
        entries = await readdir(next.path, { withFileTypes: true });
      } catch (error) {
        // A missing directory holds no keys (and a file where a directory of keys would be is one key, not a directory).
        if (isAbsent(error)) continue;
        throw new Error(`Failed to list ${next.key || '/'} in ${this.root}`, { cause: error });
      }
      for (const entry of entries) {
        if (next.key === '' && entry.name === TEMP_DIR) continue;
        const key = `${next.key}${entry.name}`;
        const path = join(next.path, entry.name);
        if (entry.isDirectory()) {
          pending.push({ path, key: `${key}/` });
          continue;
        }
        if (!entry.isFile()) continue;
        try {
          const stats = await stat(path);
          yield { key, size: stats.size, lastModified: stats.mtimeMs };
        } catch (error) {
          if (isAbsent(error)) continue; // deleted while listing
          throw new Error(`Failed to stat ${key} in ${this.root}`, { cause: error });
        }
      }
    }
  }

  /**
   * Removes temp files left by writes that crashed, i.e. untouched for `maxAgeMs` (a live write
   * touches its file with every chunk). Call once at startup; resolves with the number removed.
   */
  async sweepStaleTemp(maxAgeMs: number = STALE_TEMP_AGE_MS, now: number = Date.now()): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.#tempDir);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return 0;
      throw new Error(`Failed to list ${this.#tempDir}`, { cause: error });
    }
    let removed = 0;
    for (const name of names) {
      const path = join(this.#tempDir, name);
      try {
        const stats = await stat(path);
        if (now - stats.mtimeMs < maxAgeMs) continue;
        await rm(path, { force: true, recursive: true });
        removed += 1;
      } catch (error) {
        if (errorCode(error) === 'ENOENT') continue; // finished or removed meanwhile
        throw new Error(`Failed to remove stale temp file ${path}`, { cause: error });
      }
    }
    return removed;
  }

  /** Has `fill` write and fsync a fresh temp file, then renames it onto `path` (removed on failure). */
  async #writeAtomically(key: string, path: string, fill: (tempPath: string) => Promise<void>): Promise<void> {
    try {
      await mkdir(this.#tempDir, { recursive: true });
    } catch (error) {
      // A recursive mkdir reports ENOENT for any failure; a plain one says why (EROFS, EACCES, ...).
      const reason = await mkdir(this.#tempDir).then(() => error, (plain: unknown) => plain);
      throw new Error(`Failed to create the temp directory ${this.#tempDir}`, { cause: reason });
    }
    const tempPath = join(this.#tempDir, `${process.pid}-${randomUUID()}`);
    let renamed = false;
    try {
      await fill(tempPath);
      await makeParent(key, path, this.root);
      try {
        await rename(tempPath, path);
      } catch (error) {
        const code = errorCode(error);
        if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
          throw new Error(`Expected no other keys under ${JSON.stringify(key)} (a directory in ${this.root}), got some`, { cause: error });
        }
        throw new Error(`Failed to write ${key} in ${this.root}`, { cause: error });
      }
      renamed = true;
      await syncDirectory(dirname(path));
    } finally {
      if (!renamed) await rm(tempPath, { force: true });
    }
  }
}

/** Creates the parent directories of the file for `key`; an object at one of them is a clear error. */
async function makeParent(key: string, path: string, root: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOTDIR' || code === 'EEXIST') {
      throw new Error(`Expected no object at a parent of ${JSON.stringify(key)} in ${root}, got one`, { cause: error });
    }
    throw new Error(`Failed to create the parent directory of ${JSON.stringify(key)} in ${root}`, { cause: error });
  }
}

/** Fsyncs a directory so a rename into it survives a crash (best effort where unsupported). */
async function syncDirectory(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    await handle.sync();
  } catch (error) {
    const code = errorCode(error);
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR' && code !== 'EPERM') {
      throw new Error(`Failed to fsync directory ${path}`, { cause: error });
    }
  } finally {
    await handle?.close();
  }
}
