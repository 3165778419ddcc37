import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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

test('channel source: every tag resolves to a commit (channels first, then nixpkgs branches and tags); only a commit tag is pinned', async () => {
  // A stand-in for channels.nixos.org: `/<channel>/git-revision` answers the channel's commit.
  const channels = new Map([['nixos-unstable', commits['second']!], ['nixos-24.05', commits['first']!]]);
  const server = createServer((request, response) => {
    const match = /^\/([^/]+)\/git-revision$/.exec(request.url ?? '');
    const commit = match ? channels.get(decodeURIComponent(match[1]!)) : undefined;
    if (commit) response.writeHead(200).end(`${commit}\n`);
    else response.writeHead(404).end('no such channel');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const nixpkgs = {
      channels: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      archive: 'https://archive.example/nixpkgs',
      git: pathToFileURL(repository).href, // branches and tags that are not channels come from here
    };
    const source: PackageSource = { kind: 'channel', channel: 'nixos-unstable', nixpkgs };
    const cases: [tag: string, commit: string, pinned: boolean][] = [
      ['latest', commits['second']!, false],
      ['nixos-24.05', commits['first']!, false],
      ['feature', commits['feature']!, false], // not a channel: a branch of nixpkgs
      [COMMIT, COMMIT, true],
    ];
    for (const [tag, commit, pinned] of cases) {
      assert.deepEqual(
        await resolveRevision(source, revisionSelector(tag), signal()),
        { argument: { kind: 'tarball', url: `https://archive.example/nixpkgs/${commit}.tar.gz` }, revision: commit, pinned },
        tag,
      );
    }
    await assert.rejects(resolveRevision(source, revisionSelector('no-such-channel'), signal()), (error: unknown) => {
      assert.ok(error instanceof RegistryError);
      assert.equal(error.code, 'MANIFEST_UNKNOWN');
      assert.match(error.message, /no channel, branch or tag "no-such-channel"/);
      return true;
    });
    const down = { ...source, nixpkgs: { ...nixpkgs, channels: 'http://127.0.0.1:9' } };
    await assert.rejects(resolveRevision(down, revisionSelector('latest'), signal()), isRegistryError('UNAVAILABLE'));
  } finally {
    server.close();
  }
});
