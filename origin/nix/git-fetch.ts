/**
 * Git package sources (NIXERY_PKGS_REPO) brought into the Nix store by the origin itself, the way
 * `builtins.fetchGit` does it (`git archive` of the commit, added as `/nix/store/<hash>-source`:
 * the same store path, so the same derivations), but with the origin's own git:
 *
 * - Nix before 2.16 runs fetchGit's git after `setns()` into the mount namespace it saved at start,
 *   which inside a chroot puts git at the namespace's root, outside the chroot, where the
 *   repository (and nix's own cache) is not: every evaluation fails (NixOS/nix#7602, fixed by
 *   #8483; Debian 12 ships 2.8). Chroots are common in CI and build hosts.
 * - Only the commit is fetched (`--depth=1 <sha>`) where the server allows it, not the whole
 *   history of every ref as fetchGit does; the build's deadline cancels it.
 *
 * Layout under the cache directory:
 *   git/<sha256(url)>.git    a bare repository per source URL (fetches into it are serialised)
 *   git/roots/<commit>       an indirect GC root on the commit's store path, so the garbage
 *                            collector leaves the sources in use; the `keep` most recently used stay
 */

import { access, lstat, lutimes, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { sha256Hex } from '../../shared/digest.ts';
import { RegistryError } from '../../shared/errors.ts';
import { runNix } from './run.ts';
import { storeGate } from './store-gate.ts';

export interface GitFetcherOptions {
  /** Where the bare repositories and GC roots live. */
  cacheDir: string;
  /** How many commits' sources keep a GC root (most recently used first). */
  keep?: number;
}

export class GitFetcher {
  readonly #cacheDir: string;
  readonly #keep: number;
  /** commit -> its source's store path, in flight or known. */
  readonly #sources = new Map<string, Promise<string>>();
  /** url -> the tail of the fetches into its repository (one git fetch at a time per repository). */
  readonly #repositoryLocks = new Map<string, Promise<unknown>>();

  constructor({ cacheDir, keep = 8 }: GitFetcherOptions) {
    this.#cacheDir = cacheDir;
    this.#keep = keep;
  }

  /** The store path holding `commit` of the repository at `url`; fetched and added once. */
  async storePath(url: string, commit: string, signal: AbortSignal): Promise<string> {
    const known = this.#sources.get(commit);
    if (known) {
      const path = await known.catch(() => undefined);
      if (path !== undefined && (await exists(path))) {
        await this.#touchRoot(commit);
        return path;
      }
    }
    const fetching = this.#fetchAndAdd(url, commit, signal);
    this.#sources.set(commit, fetching);
    fetching.catch(() => this.#sources.delete(commit));
    return fetching;
  }

  async #fetchAndAdd(url: string, commit: string, signal: AbortSignal): Promise<string> {
    const repository = join(this.#cacheDir, 'git', `${(await sha256Hex(url)).slice(0, 32)}.git`);
    await this.#withRepositoryLock(url, () => this.#fetch(repository, url, commit, signal));
    const work = await mkdtemp(join(this.#cacheDir, 'git', 'checkout-'));
    try {
      const tree = join(work, 'source'); // fetchGit's name: the store path ends in -source
      await mkdir(tree);
      await git(['-C', repository, 'archive', '--format=tar', commit], signal).pipe('tar', ['-x', '-C', tree], { cancelSignal: signal });
      await mkdir(join(this.#cacheDir, 'git', 'roots'), { recursive: true });
      // Added and rooted with no store collection in between (store-gate.ts).
      const storePath = await storeGate.shared(async () => {
        const added = (await runNix('nix-store', ['--add', tree], { signal })).trim();
        await runNix('nix-store', ['--realise', added, '--add-root', this.#rootOf(commit), '--indirect'], { signal });
        return added;
      });
      await this.#pruneRoots();
      return storePath;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Makes `commit` present in the bare repository: the commit alone if the server allows, else every ref. */
  async #fetch(repository: string, url: string, commit: string, signal: AbortSignal): Promise<void> {
    if (!(await exists(join(repository, 'HEAD')))) {
      await mkdir(repository, { recursive: true });
      await git(['init', '--quiet', '--bare', repository], signal);
    }
    if (await hasCommit(repository, commit, signal)) return;
    try {
      await git(['-C', repository, 'fetch', '--quiet', '--no-tags', '--depth=1', '--', url, commit], signal);
    } catch {
      // Servers that refuse a want of a bare sha: fetch the branches and tags, then look again.
      try {
        await git(['-C', repository, 'fetch', '--quiet', '--force', '--', url, '+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'], signal);
      } catch (error) {
        if (signal.aborted) throw error;
        throw new RegistryError('UNAVAILABLE', 'The package repository could not be fetched', { cause: error, headers: { 'Retry-After': '30' } });
      }
    }
    if (!(await hasCommit(repository, commit, signal))) {
      throw new RegistryError('MANIFEST_UNKNOWN', `The package repository has no commit ${commit}`);
    }
  }

  /** Runs `task` after every earlier fetch into the same repository has finished. */
  async #withRepositoryLock<T>(url: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#repositoryLocks.get(url) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(task);
    const tail = run.catch(() => undefined);
    this.#repositoryLocks.set(url, tail);
    void tail.then(() => {
      if (this.#repositoryLocks.get(url) === tail) this.#repositoryLocks.delete(url);
    });
    return run;
  }

  #rootOf(commit: string): string {
    return join(this.#cacheDir, 'git', 'roots', commit);
  }

  /** Marks a commit's root (the symlink itself) as just used: roots are pruned least recently used first. */
  async #touchRoot(commit: string): Promise<void> {
    const now = new Date();
    await lutimes(this.#rootOf(commit), now, now).catch(() => undefined);
  }

  /** Drops the GC roots of all but the `keep` most recently used commits. */
  async #pruneRoots(): Promise<void> {
    const dir = join(this.#cacheDir, 'git', 'roots');
    const roots = await Promise.all(
      (await readdir(dir)).map(async (name) => ({ name, used: (await lstat(join(dir, name)).catch(() => undefined))?.mtimeMs ?? 0 })),
    );
    roots.sort((a, b) => b.used - a.used);
    for (const { name } of roots.slice(this.#keep)) {
      await rm(join(dir, name), { force: true });
      this.#sources.delete(name);
    }
  }
}

/** Runs git without a terminal prompt (a private repository fails instead of hanging). */
function git(args: readonly string[], signal: AbortSignal) {
  return execa('git', args, { cancelSignal: signal, env: { GIT_TERMINAL_PROMPT: '0' }, stdin: 'ignore' });
}

async function hasCommit(repository: string, commit: string, signal: AbortSignal): Promise<boolean> {
  const { exitCode } = await execa('git', ['-C', repository, 'cat-file', '-e', `${commit}^{commit}`], { cancelSignal: signal, reject: false, stdin: 'ignore' });
  return exitCode === 0;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
