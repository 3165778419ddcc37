/** The real registry clients end-to-end tests pull with: skopeo, umoci (or tar), containerd's ctr, and chroot to run. */

import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary directory, removed by `cleanup`. */
export async function tempDir(prefix: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `nixedge-${prefix}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** `skopeo copy docker://<host>/<image> oci:<layout>:<tag>`; returns the layout directory. */
export async function skopeoCopy(host: string, image: string, layout: string, tag = 'pulled'): Promise<void> {
  await mkdir(layout, { recursive: true });
  await execa('skopeo', ['copy', '--src-tls-verify=false', '--quiet', `docker://${host}/${image}`, `oci:${layout}:${tag}`]);
}

/** `skopeo inspect --raw`: the manifest bytes as a client receives them. */
export async function skopeoInspectDigest(host: string, image: string): Promise<string> {
  const { stdout } = await execa('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${host}/${image}`]);
  return stdout.trim();
}

/** `umoci unpack` an image of an OCI layout into a bundle; returns the rootfs path. */
export async function umociUnpack(layout: string, tag: string, bundle: string): Promise<string> {
  await execa('umoci', ['unpack', '--image', `${layout}:${tag}`, bundle]);
  return join(bundle, 'rootfs');
}

/** The manifest an OCI layout's index names `tag` with (as skopeo writes it). */
export async function ociLayoutManifest(layout: string, tag: string): Promise<{ config: { digest: string }; layers: { mediaType: string; digest: string }[] }> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!entry) throw new Error(`Expected ${tag} in ${layout}/index.json`);
  return JSON.parse(await readFile(ociBlob(layout, entry.digest), 'utf8')) as { config: { digest: string }; layers: { mediaType: string; digest: string }[] };
}

/** Where an OCI layout keeps a blob. */
export function ociBlob(layout: string, digest: string): string {
  return join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

/**
 * Unpacks an image of an OCI layout with GNU tar, layer by layer (gzip or zstd by media type; tar
 * runs the zstd tool): umoci 0.4.7 refuses zstd layers ("blob is not correct mediatype"). Our
 * layers have no whiteouts, so extracting them in order is the image's filesystem.
 */
export async function tarUnpack(layout: string, tag: string, rootfs: string): Promise<string> {
  await mkdir(rootfs, { recursive: true });
  for (const layer of (await ociLayoutManifest(layout, tag)).layers) {
    const codec = layer.mediaType.endsWith('+zstd') ? '--zstd' : layer.mediaType.endsWith('+gzip') ? '--gzip' : undefined;
    if (codec === undefined) throw new Error(`Expected a gzip or zstd layer, got ${layer.mediaType}`);
    await execa('tar', ['-x', codec, '-f', ociBlob(layout, layer.digest), '-C', rootfs]);
  }
  return rootfs;
}

/** Runs a command inside an unpacked rootfs with chroot; resolves with its stdout. */
export async function chrootRun(rootfs: string, command: readonly string[]): Promise<string> {
  const { stdout } = await execa('/usr/sbin/chroot', [rootfs, ...command], { env: { PATH: '/bin:/usr/bin' }, extendEnv: false });
  return stdout;
}

/** Pulls an image with skopeo, unpacks it with umoci; returns the rootfs. */
export async function pullAndUnpack(host: string, image: string, dir: string): Promise<string> {
  const layout = join(dir, 'layout');
  await skopeoCopy(host, image, layout);
  return umociUnpack(layout, 'pulled', join(dir, 'bundle'));
}

/** The pids of processes whose whole command line is `commandLine` (pgrep -fx); fails if pgrep cannot run. */
export async function processesRunning(commandLine: string): Promise<number[]> {
  const result = await execa('pgrep', ['-fx', commandLine], { reject: false });
  if (result.exitCode === 1) return []; // pgrep: nothing matched
  if (result.exitCode !== 0) throw new Error(`Expected pgrep to run, it failed: ${result.code ?? result.exitCode} ${result.stderr}`);
  return result.stdout.trim().split('\n').map(Number);
}

/** A git repository holding the fixture package set, committed on `main`: a NIXERY_PKGS_REPO for tests. */
export async function fixtureRepository(fixture: string): Promise<{ path: string; url: string; git: (...args: string[]) => Promise<string>; cleanup: () => Promise<void> }> {
  const repo = await tempDir('repo');
  const git = async (...args: string[]): Promise<string> =>
    (await execa('git', args, { cwd: repo.path, env: { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' } })).stdout.trim();
  await execa('cp', ['-r', `${fixture}/.`, repo.path]);
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-qm', 'fixture');
  return { path: repo.path, url: `file://${repo.path}`, git, cleanup: repo.cleanup };
}

/** A containerd of a test's own (root, state and socket under `dir`), driven with its `ctr`. */
export interface PrivateContainerd {
  /** Runs `ctr --address <its socket> ...args`, first waiting (up to 30 s) until containerd answers. */
  ctr: (args: readonly string[], options?: { reject?: boolean }) => Promise<{ exitCode: number | undefined; stdout: string; stderr: string }>;
  /** Stops containerd (SIGTERM) and waits for it to exit. */
  stop: () => Promise<void>;
}

/** Starts a private containerd; it comes up while the test does other work, and `ctr` waits for it. */
export function startContainerd(dir: string): PrivateContainerd {
  const socket = join(dir, 'ctrd.sock');
  const child = spawn('containerd', ['--root', join(dir, 'ctrd-root'), '--state', join(dir, 'ctrd-state'), '--address', socket], { stdio: 'ignore' });
  const answers = async (): Promise<void> => {
    const deadline = Date.now() + 30_000;
    while ((await execa('ctr', ['--address', socket, 'version'], { reject: false })).exitCode !== 0) {
      if (Date.now() >= deadline) throw new Error(`containerd did not start: ${socket} did not answer within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  let started: Promise<void> | undefined;
  return {
    ctr: async (args, options = {}) => {
      started ??= answers();
      await started;
      const { exitCode, stdout, stderr } = await execa('ctr', ['--address', socket, ...args], { reject: options.reject ?? true });
      return { exitCode, stdout, stderr };
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
