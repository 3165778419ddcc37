import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RegistryError, type ErrorCode } from '../../shared/errors.ts';
import { revisionSelector } from '../../shared/reference.ts';
import { resolveRevision, type PackageSource } from './source.ts';

const signal = (): AbortSignal => AbortSignal.timeout(20_000);

const isRegistryError = (code: ErrorCode) => (error: unknown): boolean => {
  assert.ok(error instanceof RegistryError);
  assert.equal(error.code, code);
  return true;
};

const COMMIT = 'a'.repeat(32) + '0123abcd';

test('path source: only latest exists', async () => {
  const source: PackageSource = { kind: 'path', path: '/srv/pkgs' };
  assert.deepEqual(await resolveRevision(source, revisionSelector('latest'), signal()), {
    argument: { kind: 'path', path: '/srv/pkgs' },
    revision: undefined,
    pinned: false,
  });
  for (const tag of ['main', COMMIT]) {
    await assert.rejects(resolveRevision(source, revisionSelector(tag), signal()), isRegistryError('MANIFEST_UNKNOWN'));
  }
});

test('channel source: the tag picks the nixpkgs tarball; only a commit is pinned', async () => {
  const source: PackageSource = { kind: 'channel', channel: 'nixos-unstable' };
  const cases: [tag: string, ref: string, revision: string | undefined][] = [
    ['latest', 'nixos-unstable', undefined],
    ['nixos-24.05', 'nixos-24.05', undefined],
    [COMMIT, COMMIT, COMMIT],
  ];
  for (const [tag, ref, revision] of cases) {
    assert.deepEqual(await resolveRevision(source, revisionSelector(tag), signal()), {
      argument: { kind: 'tarball', url: `https://github.com/NixOS/nixpkgs/archive/${ref}.tar.gz` },
      revision,
      pinned: revision !== undefined,
    }, tag);
  }
});

let repository: string;
const commits: Record<string, string> = {};

/** A repository with two commits on main, a branch ahead of it, a lightweight and an annotated tag. */
before(async () => {
  repository = await mkdtemp(join(tmpdir(), 'nixedge-source-'));
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
  };
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: repository, env, encoding: 'utf8' }).trim();
  const commit = async (file: string, message: string): Promise<string> => {
    await writeFile(join(repository, file), message);
    git('add', file);
    git('commit', '-q', '-m', message);
    return git('rev-parse', 'HEAD');
  };
  git('init', '-q', '-b', 'main');
  commits['first'] = await commit('default.nix', 'first');
  git('tag', 'light'); // lightweight, on the first commit
  commits['second'] = await commit('default.nix', 'second');
  git('tag', '-a', 'annotated', '-m', 'an annotated tag', commits['first']);
  git('checkout', '-q', '-b', 'feature');
  commits['feature'] = await commit('feature.nix', 'feature');
  git('checkout', '-q', 'main');
  commits['tagObject'] = git('rev-parse', 'annotated');
  assert.notEqual(commits['tagObject'], commits['first']);
});

after(async () => {
  await rm(repository, { recursive: true, force: true });
});

test('git source: latest, branches and tags resolve to commits; a commit is pinned', async () => {
  const url = pathToFileURL(repository).href;
  const source: PackageSource = { kind: 'git', url };
  const cases: [tag: string, commit: string | undefined, pinned: boolean][] = [
    ['latest', commits['second'], false], // HEAD
    ['main', commits['second'], false],
    ['feature', commits['feature'], false],
    ['light', commits['first'], false],
    ['annotated', commits['first'], false], // peeled: the commit, not the tag object
    [COMMIT, COMMIT, true], // taken as is; nix fetches it later
  ];
  for (const [tag, commit, pinned] of cases) {
    assert.ok(commit);
    assert.deepEqual(
      await resolveRevision(source, revisionSelector(tag), signal()),
      { argument: { kind: 'git', url, rev: commit }, revision: commit, pinned },
      tag,
    );
  }
});

test('git source: an unknown ref is MANIFEST_UNKNOWN, an unreachable repository UNAVAILABLE', async () => {
  const source: PackageSource = { kind: 'git', url: pathToFileURL(repository).href };
  await assert.rejects(resolveRevision(source, revisionSelector('no-such-branch'), signal()), isRegistryError('MANIFEST_UNKNOWN'));
  const missing: PackageSource = { kind: 'git', url: pathToFileURL(join(repository, 'missing.git')).href };
  for (const tag of ['latest', 'main']) {
    await assert.rejects(resolveRevision(missing, revisionSelector(tag), signal()), isRegistryError('UNAVAILABLE'));
  }
});
