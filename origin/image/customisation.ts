/**
 * The last layer of an image (Nixery's "customisation layer"): the requested packages joined at `/`
 * the way buildEnv/symlinkJoin do, plus what programs expect of a root filesystem (/tmp, /etc/passwd,
 * /etc/group, /root, /usr/bin/env).
 */

import { lstat, readdir, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { compareBytes } from '../tarball/entry.ts';
import type { TarEntry } from '../tarball/entry.ts';

export interface CustomisationInput {
  /** Out paths of the requested packages, in a stable order (earlier ones win collisions). */
  packages: readonly string[];
}

/** The package directories joined at the image root. */
const JOINED_DIRECTORIES = ['bin', 'etc', 'lib', 'share'] as const;
const DIRECTORY_MODE = 0o755;
const FILE_MODE = 0o644;

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/var/empty:/bin/false\n';
const GROUP = 'root:x:0:\nnobody:x:65534:\n';

type JoinNode =
  | { kind: 'symlink'; target: string }
  | { kind: 'directory'; mode: number; children: Map<string, JoinNode> }
  | { kind: 'file'; mode: number; content: Uint8Array };

/**
 * The entries of the customisation layer, sorted as `tar --sort=name` would (each directory before
 * its children, every parent present). Join rules, per path below bin/, etc/, lib/ and share/:
 * - provided by one package only: a symlink to that package's absolute path (a whole directory
 *   provided by one package is one symlink);
 * - a directory in several packages: a real directory (0755) whose children are joined the same way;
 * - a collision involving a non-directory: the first package in `packages` order wins (as with
 *   symlinkJoin, silently); if that first one is a directory, the other packages' directories
 *   still merge into it and their non-directories are dropped.
 * Symlinks inside packages are leaves unless they point to a directory that collides (buildEnv
 * follows those). `etc` is always a real directory so our passwd/group win over any package's.
 */
export async function customisationEntries(input: CustomisationInput): Promise<TarEntry[]> {
  const packages = [...new Set(input.packages)];
  for (const pkg of packages) {
    if (!isAbsolute(pkg)) throw new Error(`Package path must be absolute: ${pkg}`);
    await existing(pkg, true);
  }

  const root = new Map<string, JoinNode>();
  for (const name of JOINED_DIRECTORIES) {
    const sources = await existingPaths(packages.map((pkg) => `${pkg}/${name}`));
    const forceDirectory = name === 'etc';
    if (sources.length === 0 && !forceDirectory) continue;
    root.set(name, await join(sources, forceDirectory));
  }

  const etc = root.get('etc');
  if (etc?.kind !== 'directory') throw new Error('etc must be a directory in the customisation layer');
  etc.children.set('passwd', { kind: 'file', mode: FILE_MODE, content: Buffer.from(PASSWD) });
  etc.children.set('group', { kind: 'file', mode: FILE_MODE, content: Buffer.from(GROUP) });

  root.set('tmp', { kind: 'directory', mode: 0o1777, children: new Map() });
  root.set('root', { kind: 'directory', mode: 0o700, children: new Map() });

  const env = await envTarget(root);
  if (env !== undefined) {
    const usrBin = new Map<string, JoinNode>([['env', { kind: 'symlink', target: env }]]);
    const usr = new Map<string, JoinNode>([['bin', { kind: 'directory', mode: DIRECTORY_MODE, children: usrBin }]]);
    root.set('usr', { kind: 'directory', mode: DIRECTORY_MODE, children: usr });
  }

  const entries: TarEntry[] = [];
  flatten(root, '', entries);
  return entries;
}

/** Joins the same relative path of several packages (`sources`, in package order, all existing). */
async function join(sources: readonly string[], forceDirectory: boolean): Promise<JoinNode> {
  const first = sources[0];
  if (!forceDirectory && first !== undefined && !(await isDirectory(first))) return { kind: 'symlink', target: first };

  const directories: string[] = [];
  for (const source of sources) {
    if (await isDirectory(source)) directories.push(source);
  }
  const only = directories[0];
  if (!forceDirectory && directories.length === 1 && only !== undefined) return { kind: 'symlink', target: only };

  const names = new Set<string>();
  for (const directory of directories) {
    for (const name of await listDirectory(directory)) names.add(name);
  }
  const children = new Map<string, JoinNode>();
  for (const name of [...names].sort(compareBytes)) {
    const childSources = await existingPaths(directories.map((directory) => `${directory}/${name}`));
    children.set(name, await join(childSources, false));
  }
  return { kind: 'directory', mode: DIRECTORY_MODE, children };
}

/** The absolute path `bin/env` resolves to in the join, if some package provides it. */
async function envTarget(root: Map<string, JoinNode>): Promise<string | undefined> {
  const bin = root.get('bin');
  if (bin?.kind === 'symlink') {
    const candidate = `${bin.target}/env`;
    return (await existing(candidate, false)) ? candidate : undefined;
  }
  if (bin?.kind === 'directory') {
    const env = bin.children.get('env');
    if (env?.kind === 'symlink') return env.target;
  }
  return undefined;
}

/** Appends the entries of `children` (at `prefix`) in byte order, each directory before its content. */
function flatten(children: Map<string, JoinNode>, prefix: string, entries: TarEntry[]): void {
  for (const name of [...children.keys()].sort(compareBytes)) {
    const node = children.get(name);
    const path = `${prefix}${name}`;
    if (node === undefined) continue;
    switch (node.kind) {
      case 'symlink':
        entries.push({ type: 'symlink', path, target: node.target });
        break;
      case 'file':
        entries.push({ type: 'file', path, mode: node.mode, content: node.content });
        break;
      case 'directory':
        entries.push({ type: 'directory', path, mode: node.mode });
        flatten(node.children, `${path}/`, entries);
        break;
    }
  }
}

/** Those of `paths` that exist (a dangling symlink exists: it is a leaf). */
async function existingPaths(paths: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const path of paths) {
    if (await existing(path, false)) found.push(path);
  }
  return found;
}

/** Whether `path` exists (lstat); with `required`, a missing path is an error. */
async function existing(path: string, required: boolean): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (!required && isNotFound(error)) return false;
    throw new Error(`Cannot read ${path}`, { cause: error });
  }
}

/** Whether `path` is a directory or a symlink to one (buildEnv merges through such symlinks). */
async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (error) {
    if (isNotFound(error)) return false; // a dangling symlink
    throw new Error(`Cannot read ${path}`, { cause: error });
  }
}

async function listDirectory(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (error) {
    throw new Error(`Cannot list ${path}`, { cause: error });
  }
}

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
