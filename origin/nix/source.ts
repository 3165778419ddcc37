/**
 * Package sources, configured as Nixery configures them, and how an image tag selects a revision:
 *
 *   NIXERY_PKGS_PATH   a local package set; only `latest` exists (the files as they are now)
 *   NIXERY_PKGS_REPO   a git repository: `latest` = its default branch (HEAD), a 40-hex tag = that
 *                      commit, any other tag = a branch or tag of that name
 *   NIXERY_CHANNEL     nixpkgs from GitHub: `latest` = the configured channel or ref, any other
 *                      tag = a channel, branch or commit of nixpkgs
 *
 * Git refs are resolved to a commit with `git ls-remote` before nix runs, so the commit (an
 * immutable id) keys the image cache and repeated pulls of a branch need no evaluation.
 */

import { execa } from 'execa';
import { RegistryError } from '../../shared/errors.ts';
import type { RevisionSelector } from '../../shared/reference.ts';

export type PackageSource =
  | { kind: 'path'; path: string }
  | { kind: 'git'; url: string }
  | { kind: 'channel'; channel: string; nixpkgs: NixpkgsLocations };

/** Where nixpkgs' channels, archives and repository are (NIXEDGE_* overrides; tests use stand-ins). */
export interface NixpkgsLocations {
  /** `<channels>/<channel>/git-revision` names the commit a channel is at (https://channels.nixos.org). */
  channels: string;
  /** `<archive>/<commit>.tar.gz` is nixpkgs at that commit (https://github.com/NixOS/nixpkgs/archive). */
  archive: string;
  /** The repository, for branches and tags that are not channels (https://github.com/NixOS/nixpkgs). */
  git: string;
}

export const NIXPKGS_LOCATIONS: NixpkgsLocations = {
  channels: 'https://channels.nixos.org',
  archive: 'https://github.com/NixOS/nixpkgs/archive',
  git: 'https://github.com/NixOS/nixpkgs',
};

/** Where one revision of the package set is: a directory, a git commit, or a tarball URL. */
export type SourceLocation =
  | { kind: 'path'; path: string }
  | { kind: 'git'; url: string; rev: string }
  | { kind: 'tarball'; url: string };

/**
 * The source as resolve.nix takes it (data only): a git commit is fetched into the store by the
 * origin first (nix/git-fetch.ts), so nix only ever sees a path or a tarball URL.
 */
export type NixSourceArgument = Exclude<SourceLocation, { kind: 'git' }>;

export interface ResolvedRevision {
  argument: SourceLocation;
  /** An immutable id of the package set (a git commit) when known before evaluation. */
  revision: string | undefined;
  /** Whether the tag itself names an immutable revision (caches may keep it forever). */
  pinned: boolean;
}

const COMMIT = /^[0-9a-f]{40}$/;

/** Resolves a tag's revision selector against the configured source. */
export async function resolveRevision(
  source: PackageSource,
  selector: RevisionSelector,
  signal: AbortSignal,
): Promise<ResolvedRevision> {
  switch (source.kind) {
    case 'path':
      if (selector.kind !== 'default') {
        throw new RegistryError('MANIFEST_UNKNOWN', 'This registry builds from a local package set: the only tag is "latest"');
      }
      return { argument: { kind: 'path', path: source.path }, revision: undefined, pinned: false };
    case 'git': {
      const commit = selector.kind === 'commit' ? selector.commit : await lsRemote(source.url, selector, signal);
      return { argument: { kind: 'git', url: source.url, rev: commit }, revision: commit, pinned: selector.kind === 'commit' };
    }
    case 'channel': {
      // Every tag resolves to a commit before nix runs: the commit keys the image cache, so a pull
      // of an image built already answers without evaluating nixpkgs.
      const commit =
        selector.kind === 'commit' ? selector.commit : await channelCommit(source.nixpkgs, selector.kind === 'default' ? source.channel : selector.ref, signal);
      return {
        argument: { kind: 'tarball', url: `${source.nixpkgs.archive}/${commit}.tar.gz` },
        revision: commit,
        pinned: selector.kind === 'commit',
      };
    }
  }
}

/**
 * The commit a channel is at (`<channels>/<name>/git-revision`, as channels.nixos.org publishes
 * it), or, for a name that is not a channel, the nixpkgs branch or tag of that name.
 */
async function channelCommit(nixpkgs: NixpkgsLocations, name: string, signal: AbortSignal): Promise<string> {
  let response: Response;
  try {
    response = await fetch(`${nixpkgs.channels}/${encodeURIComponent(name)}/git-revision`, { signal, redirect: 'follow' });
  } catch (error) {
    throw new RegistryError('UNAVAILABLE', 'The nixpkgs channels could not be reached', { cause: error, headers: { 'Retry-After': '30' } });
  }
  if (response.ok) {
    const commit = (await response.text()).trim();
    if (COMMIT.test(commit)) return commit;
    throw new RegistryError('UNAVAILABLE', `The channel ${name} names no commit`, { headers: { 'Retry-After': '30' } });
  }
  await response.body?.cancel();
  if (response.status !== 404) {
    throw new RegistryError('UNAVAILABLE', `The nixpkgs channels answered ${response.status}`, { headers: { 'Retry-After': '30' } });
  }
  try {
    return await lsRemote(nixpkgs.git, { kind: 'ref', ref: name }, signal);
  } catch (error) {
    if (error instanceof RegistryError && error.code === 'MANIFEST_UNKNOWN') {
      throw new RegistryError('MANIFEST_UNKNOWN', `nixpkgs has no channel, branch or tag "${name}"`);
    }
    throw error;
  }
}

/** The commit a branch or tag (or the default branch) of a git repository points at. */
async function lsRemote(url: string, selector: RevisionSelector, signal: AbortSignal): Promise<string> {
  const patterns = selector.kind === 'ref' ? [`refs/heads/${selector.ref}`, `refs/tags/${selector.ref}`, `refs/tags/${selector.ref}^{}`] : ['HEAD'];
  let stdout: string;
  try {
    ({ stdout } = await execa('git', ['ls-remote', '--', url, ...patterns], {
      cancelSignal: signal,
      env: { GIT_TERMINAL_PROMPT: '0' },
      stdin: 'ignore',
    }));
  } catch (error) {
    throw new RegistryError('UNAVAILABLE', 'The package repository could not be reached', { cause: error });
  }
  const refs = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [commit, name] = line.split('\t');
    if (commit && name && COMMIT.test(commit)) refs.set(name, commit);
  }
  const found = patterns
    .slice()
    .reverse() // a peeled annotated tag (^{}) names the commit, the tag object does not
    .map((pattern) => refs.get(pattern))
    .find((commit) => commit !== undefined);
  if (found === undefined) {
    const what = selector.kind === 'ref' ? `no branch or tag "${selector.ref}"` : 'no default branch';
    throw new RegistryError('MANIFEST_UNKNOWN', `The package repository has ${what}`);
  }
  return found;
}
