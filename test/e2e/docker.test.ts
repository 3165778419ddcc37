/**
 * End to end with the Docker engine from Debian (dockerd with vfs storage, no networking): docker
 * pulls from the origin as it does from any registry (HEAD by tag, GET by digest, blobs), and
 * runs the image. The daemon is private to this test: its own socket, data and exec roots.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { startOrigin, FIXTURE_PKGS, type RunningOrigin } from '../../local-stack/origin-process.ts';
import { startLocalEdge, type LocalEdge } from '../../local-stack/index.ts';
import { freePort } from '../../local-stack/wrangler-dev.ts';
import { tempDir } from './clients.ts';
import { waitForEdgeHit } from './edge-cache.ts';

/** Debian's docker.io client (a newer client may be first on PATH). */
const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';

describe('docker pulls and runs images', () => {
  let origin: RunningOrigin;
  let storage: { path: string; cleanup: () => Promise<void> };
  let root: { path: string; cleanup: () => Promise<void> };
  let daemon: ChildProcess;
  let socket: string;
  const docker = (...args: string[]) => execa(DOCKER, ['-H', `unix://${socket}`, ...args]);

  before(async () => {
    storage = await tempDir('docker-storage');
    root = await tempDir('docker-root');
    socket = join(root.path, 'docker.sock');
    daemon = spawn(
      'dockerd',
      [
        '--storage-driver=vfs',
        '--iptables=false',
        '--ip-masq=false',
        '--bridge=none',
        `--data-root=${join(root.path, 'data')}`,
        `--exec-root=${join(root.path, 'exec')}`,
        `--pidfile=${join(root.path, 'docker.pid')}`,
        `--host=unix://${socket}`,
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 60_000;
    for (;;) {
      const probe = await execa(DOCKER, ['-H', `unix://${socket}`, 'version'], { reject: false });
      if (probe.exitCode === 0) break;
      assert.ok(Date.now() < deadline && daemon.exitCode === null, `dockerd did not start: ${probe.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    origin = await startOrigin({ NIXERY_PKGS_PATH: FIXTURE_PKGS, STORAGE_PATH: storage.path });
  });
  after(async () => {
    await origin?.stop();
    if (daemon && daemon.exitCode === null) {
      const exited = once(daemon, 'exit');
      daemon.kill('SIGTERM');
      await exited;
    }
    await storage?.cleanup();
    await root?.cleanup();
  });

  it('docker pull, then docker run prints Hello, world!, by tag and by digest', async () => {
    // 127.0.0.0/8 is an insecure registry by default: plain HTTP, as with any local registry.
    const image = `${origin.host}/shell/hello:latest`;
    const pulled = await docker('pull', image);
    assert.match(pulled.stdout, /Digest: sha256:[a-f0-9]{64}/);
    const run = await docker('run', '--rm', '--network', 'none', image, '/bin/hello');
    assert.equal(run.stdout.trim(), 'Hello, world!');
    const shell = await docker('run', '--rm', '--network', 'none', image, 'sh', '-c', 'echo $((6 * 7))');
    assert.equal(shell.stdout.trim(), '42', 'PATH and the shell work');

    const digest = /Digest: (sha256:[a-f0-9]{64})/.exec(pulled.stdout)![1]!;
    const byDigest = await docker('pull', `${origin.host}/shell/hello@${digest}`);
    assert.match(byDigest.stdout, new RegExp(digest));
    const manifestGets = origin.logs.filter((line) => line.msg === 'request' && String(line['path']).includes('/manifests/'));
    assert.ok(manifestGets.some((line) => line['method'] === 'HEAD'), 'docker resolves the tag with HEAD');
  });

  it('Docker Engine 20.10 cannot unpack zstd: docker pull of a zstd image says so and what to pull instead', async () => {
    // It accepts OCI manifests, so only its User-Agent tells (shared/oci-only.ts); without that it
    // would download every layer and fail with "failed to register layer: ... invalid tar header".
    const pulled = await execa(DOCKER, ['-H', `unix://${socket}`, 'pull', `${origin.host}/zstd/shell/hello:latest`], { reject: false });
    assert.notEqual(pulled.exitCode, 0);
    assert.match(
      pulled.stderr,
      /manifest for .*zstd\/shell\/hello:latest not found: manifest unknown: zstd\/shell\/hello:latest has zstd-compressed layers \(application\/vnd\.oci\.image\.layer\.v1\.tar\+zstd\), which Docker Engine 20\.10\.\S+ cannot unpack \(Docker reads them from version 23\)\. .* or pull "shell\/hello:latest"/,
      `docker printed: ${pulled.stderr}`,
    );
    const blobs = origin.logs.filter((line) => line.msg === 'request' && String(line['path']).startsWith('/v2/zstd/shell/hello/blobs/'));
    assert.deepEqual(blobs, [], 'refused before downloading any layer');
  });

  it('through the edge, as the README says: docker pull localhost:<edge>/shell/hello (a two-platform list), layers from R2 by 307, then docker run', async () => {
    const state = await tempDir('docker-edge-state');
    const local: LocalEdge = await startLocalEdge({ persistTo: state.path, originPort: await freePort() });
    // Two platforms: docker resolves the manifest list to its own (amd64 here).
    const behind = await startOrigin({ ...local.originEnv, NIXERY_PKGS_PATH: FIXTURE_PKGS, NIXEDGE_PLATFORMS: 'linux/amd64,linux/arm64' });
    try {
      const image = `localhost:${local.edge.port}/shell/hello`;
      await docker('pull', image); // a miss: built at the origin, written back to the edge
      await waitForEdgeHit(local.edge.url, '/v2/shell/hello/manifests/latest');
      await docker('rmi', image);
      const blobsBefore = behind.logs.filter((line) => line.msg === 'request' && String(line['path']).includes('/blobs/')).length;
      const pulled = await docker('pull', image); // a hit: the manifest from KV, every layer by 307 from R2
      assert.match(pulled.stdout, /Digest: sha256:[a-f0-9]{64}/);
      const blobsAfter = behind.logs.filter((line) => line.msg === 'request' && String(line['path']).includes('/blobs/')).length;
      assert.equal(blobsAfter, blobsBefore, 'no layer came from the origin: the edge redirected them all to R2');
      const run = await docker('run', '--rm', '--network', 'none', image, '/bin/hello');
      assert.equal(run.stdout.trim(), 'Hello, world!');
      const architecture = await docker('image', 'inspect', '--format', '{{.Architecture}}', image);
      assert.equal(architecture.stdout.trim(), 'amd64', 'docker picked its platform from the manifest list');

      // An image that cannot be built: docker prints why (a 400 MANIFEST_UNKNOWN's message).
      const broken = await execa(DOCKER, ['-H', `unix://${socket}`, 'pull', `localhost:${local.edge.port}/shell/broken`], { reject: false });
      assert.notEqual(broken.exitCode, 0);
      assert.match(broken.stderr, /manifest unknown: (?:linux\/(?:amd64|arm64): )?broken: nix failed to build broken-1\.0 \(exit code 1; build [0-9a-f]{8}\)/, `docker printed: ${broken.stderr}`);
    } finally {
      await docker('rmi', `localhost:${local.edge.port}/shell/hello`).catch(() => undefined);
      await behind.stop();
      await local.edge.stop();
      await state.cleanup();
    }
  });
});
