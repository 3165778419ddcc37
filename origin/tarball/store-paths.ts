/** The entries of a layer holding a set of store paths, in the deterministic order of `tar --sort=name`. */

import { lstat, readdir, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { compareBytes } from './entry.ts';
import type { TarEntry } from './entry.ts';

/** The top of every store layer: `/nix` and `/nix/store`, 0755 like Nixery's layers. */
const STORE_PREFIX_ENTRIES: readonly TarEntry[] = [
  { type: 'directory', path: 'nix', mode: 0o755 },
  { type: 'directory', path: 'nix/store', mode: 0o755 },
];

/**
 * Yields `nix`, `nix/store`, then each store path (by name, byte order) walked depth first with
 * each directory's children in byte order. A store path lands at `nix/store/<its base name>`
 * whatever directory it is read from, so temporary directories can stand in for /nix/store.
 * Only one directory listing per depth is held at a time.
 */
export async function* storePathEntries(storePaths: readonly string[]): AsyncIterable<TarEntry> {
  const roots = sortedRoots(storePaths);
  yield* STORE_PREFIX_ENTRIES;
  for (const { name, hostPath } of roots) {
    yield* walk(hostPath, `nix/store/${name}`);
  }
}

interface Root {
  name: string;
  hostPath: string;
}

/** Validates, deduplicates and sorts the store paths by the name they get in the layer. */
function sortedRoots(storePaths: readonly string[]): Root[] {
  const byName = new Map<string, string>();
  for (const storePath of storePaths) {
    if (!isAbsolute(storePath)) throw new Error(`Store path must be absolute: ${storePath}`);
    const name = basename(storePath);
    if (name === '' || name === '.' || name === '..') throw new Error(`Not a store path: ${storePath}`);
    const seen = byName.get(name);
    if (seen !== undefined && seen !== storePath) {
      throw new Error(`Two store paths share the name ${name}: ${seen} and ${storePath}`);
    }
    byName.set(name, storePath);
  }
  return [...byName]
    .map(([name, hostPath]) => ({ name, hostPath }))
    .sort((a, b) => compareBytes(a.name, b.name));
}

/** Children whose lstat (and readlink, for symlinks) run ahead of the one being walked. */
const LOOKUP_AHEAD = 32;

interface Lookup {
  stats: Stats;
  target: string | undefined;
}

/** The entry for `hostPath` at `path`, then (for a directory) its descendants. */
async function* walk(hostPath: string, path: string, looked?: Lookup): AsyncGenerator<TarEntry> {
  const { stats, target } = looked ?? (await lookUp(hostPath));
  if (target !== undefined) {
    yield { type: 'symlink', path, target };
  } else if (stats.isFile()) {
    // Hard links are plain files here: each layer entry carries its own content.
    yield { type: 'file', path, mode: stats.mode & 0o7777, size: stats.size, source: hostPath };
  } else if (stats.isDirectory()) {
    yield { type: 'directory', path, mode: stats.mode & 0o7777 };
    // The children are looked up LOOKUP_AHEAD at a time ahead of the walk (latency, not
    // bandwidth, bounds trees of many small files); each one's error surfaces in its turn.
    const names = await sortedChildren(hostPath);
    const lookups: Array<Promise<Lookup> | undefined> = [];
    for (let i = 0; i < names.length; i++) {
      for (let next = lookups.length; next < names.length && next < i + LOOKUP_AHEAD; next++) {
        const lookup = lookUp(join(hostPath, names[next] ?? ''));
        lookup.catch(ignore); // awaited in its turn (or dropped if the walk is closed early)
        lookups.push(lookup);
      }
      const lookup = lookups[i];
      lookups[i] = undefined;
      const name = names[i] ?? '';
      yield* walk(join(hostPath, name), `${path}/${name}`, await lookup);
    }
  } else {
    throw new Error(`Cannot put ${hostPath} in a layer: not a file, directory or symlink`);
  }
}

async function lookUp(hostPath: string): Promise<Lookup> {
  const stats = await lstatOrThrow(hostPath);
  return { stats, target: stats.isSymbolicLink() ? await readlinkOrThrow(hostPath) : undefined };
}

function ignore(): void {}

/** A directory's entry names in byte order; names that are not UTF-8 are refused (they cannot round-trip). */
async function sortedChildren(hostPath: string): Promise<string[]> {
  let raw: Buffer[];
  try {
    raw = await readdir(hostPath, { encoding: 'buffer' });
  } catch (error) {
    throw new Error(`Cannot list ${hostPath}`, { cause: error });
  }
  raw.sort(Buffer.compare);
  return raw.map((bytes) => {
    const name = bytes.toString('utf8');
    if (!Buffer.from(name, 'utf8').equals(bytes)) {
      throw new Error(`Cannot put ${join(hostPath, name)} in a layer: its name is not valid UTF-8`);
    }
    return name;
  });
}

async function lstatOrThrow(hostPath: string): Promise<Stats> {
  try {
    return await lstat(hostPath);
  } catch (error) {
    throw new Error(`Cannot read ${hostPath}`, { cause: error });
  }
}

async function readlinkOrThrow(hostPath: string): Promise<string> {
  try {
    return await readlink(hostPath);
  } catch (error) {
    throw new Error(`Cannot read the symlink ${hostPath}`, { cause: error });
  }
}
