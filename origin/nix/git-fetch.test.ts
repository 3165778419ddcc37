/** GitFetcher with real git and nix: commits of a local repository brought into the store. */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { RegistryError } from '../../shared/errors.ts';
import { GitFetcher } from './git-fetch.ts';

const signal = (): AbortSignal => AbortSignal.timeout(60_000);
let work: string;
let repository: string;
const commits: string[] = [];

const git = (...args: string[]) =>
  execa('git', args, {
    cwd: repository,
    env: { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e', GIT_CONFIG_GLOBAL: '/dev/null' },
  });

/** A repository of three commits, each changing `message` (and the last adding an executable). */
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'nixedge-git-fetch-'));
  repository = join(work, 'repo');
  await execa('mkdir', ['-p', repository]);
  await git('init', '-q', '-b', 'main');
  for (const message of ['one', 'two', 'three']) {
    await writeFile(join(repository, 'message'), `${message}\n`);
    if (message === 'three') await writeFile(join(repository, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    await git('add', '-A');
    await git('commit', '-qm', message);
    commits.push((await git('rev-parse', 'HEAD')).stdout.trim());
  }
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The store path `builtins.fetchGit` gives a commit, computed independently: the tree checked out, hashed as a NAR named "source". */
async function fetchGitPath(commit: string): Promise<string> {
  const tree = await mkdtemp(join(work, 'tree-'));
  await execa('git', ['--git-dir', join(repository, '.git'), '--work-tree', tree, 'checkout', commit, '--', '.']);
  const { stdout: hash } = await execa('nix-hash', ['--type', 'sha256', '--base32', tree]);
  const { stdout: path } = await execa('nix-store', ['--print-fixed-path', '--recursive', 'sha256', hash.trim(), 'source']);
  return path.trim();
}

describe('GitFetcher', () => {
  it('puts a commit into the store at the path fetchGit would, holding only that commit', async () => {
    const fetcher = new GitFetcher({ cacheDir: join(work, 'cache-a') });
    const path = await fetcher.storePath(`file://${repository}`, commits[0]!, signal());
    assert.equal(path, await fetchGitPath(commits[0]!));
    assert.equal(await readFile(join(path, 'message'), 'utf8'), 'one\n');
    assert.deepEqual((await readdir(path)).sort(), ['message']);

    const last = await fetcher.storePath(`file://${repository}`, commits[2]!, signal());
    assert.equal(last, await fetchGitPath(commits[2]!), 'an executable file keeps its mode, as in fetchGit');
  });

  it('holds a GC root on each source, keeps only the most recently used, and reuses what it fetched', async () => {
    const cacheDir = join(work, 'cache-b');
    const fetcher = new GitFetcher({ cacheDir, keep: 2 });
    const url = `file://${repository}`;
    for (const commit of commits) await fetcher.storePath(url, commit, signal());
    assert.deepEqual((await readdir(join(cacheDir, 'git', 'roots'))).sort(), commits.slice(1).sort(), 'the oldest root was dropped');
    const { stdout: roots } = await execa('nix-store', ['--gc', '--print-roots']);
    assert.ok(roots.includes(join(cacheDir, 'git', 'roots', commits[2]!)), 'nix knows the root');

    // A second request needs neither the network nor git: the repository can be gone.
    const expected = await fetchGitPath(commits[2]!);
    await execa('mv', [repository, `${repository}.moved`]);
    try {
      assert.equal(await fetcher.storePath(url, commits[2]!, signal()), expected);
    } finally {
      await execa('mv', [`${repository}.moved`, repository]);
    }
  });

  it('answers MANIFEST_UNKNOWN for a commit the repository does not have, and UNAVAILABLE for an unreachable one', async () => {
    const fetcher = new GitFetcher({ cacheDir: join(work, 'cache-c') });
    await assert.rejects(fetcher.storePath(`file://${repository}`, 'f'.repeat(40), signal()), (error: unknown) => {
      assert.ok(error instanceof RegistryError);
      assert.equal(error.code, 'MANIFEST_UNKNOWN');
      assert.match(error.message, /no commit f{40}/);
      return true;
    });
    await assert.rejects(fetcher.storePath(`file://${work}/missing`, commits[0]!, signal()), (error: unknown) => {
      assert.ok(error instanceof RegistryError);
      assert.equal(error.code, 'UNAVAILABLE');
      return true;
    });
  });
});
