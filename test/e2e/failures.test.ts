/**
 * End to end: what the person pulling sees when an image cannot be built, through the edge, with
 * the registry clients themselves (skopeo, podman, containerd's ctr; docker in docker.test.ts).
 * A package that fails to build answers 400 MANIFEST_UNKNOWN with the message in the body (what
 * skopeo, podman and docker print) and in the status line (all containerd can show: it resolves
 * with HEAD). crane is not in Debian and is not run here (see the README's table).
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execa } from 'execa';
import { startOrigin, FIXTURE_PKGS, type RunningOrigin } from '../../local-stack/origin-process.ts';
import { startLocalEdge, type LocalEdge } from '../../local-stack/index.ts';
import { freePort } from '../../local-stack/wrangler-dev.ts';
import { startContainerd, tempDir, type PrivateContainerd } from './clients.ts';

const BROKEN = /broken: nix failed to build broken-1\.0 \(exit code 1; build [0-9a-f]{8}\)/;

describe('a package that fails to build, pulled through the edge by each client', () => {
  let local: LocalEdge;
  let origin: RunningOrigin;
  let state: { path: string; cleanup: () => Promise<void> };
  let work: { path: string; cleanup: () => Promise<void> };
  let containerd: PrivateContainerd;
  let host = '';

  before(async () => {
    state = await tempDir('failures-state');
    work = await tempDir('failures-work');
    local = await startLocalEdge({ persistTo: state.path, originPort: await freePort() });
    origin = await startOrigin({ ...local.originEnv, NIXERY_PKGS_PATH: FIXTURE_PKGS });
    host = `127.0.0.1:${local.edge.port}`;
    containerd = startContainerd(work.path);
  });
  after(async () => {
    await containerd?.stop();
    await origin?.stop();
    await local?.edge.stop();
    await state?.cleanup();
    await work?.cleanup();
  });

  it('skopeo, podman and ctr each print that broken failed to build; nix ran once for all of them', async () => {
    const skopeo = await execa('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/shell/broken:latest`, `oci:${join(work.path, 'skopeo')}:x`], { reject: false });
    assert.notEqual(skopeo.exitCode, 0);
    assert.match(skopeo.stderr, BROKEN, `skopeo printed: ${skopeo.stderr}`);

    const podman = await execa(
      'podman',
      ['--root', join(work.path, 'podman-root'), '--runroot', join(work.path, 'podman-run'), '--storage-driver', 'vfs', 'pull', '--tls-verify=false', `${host}/shell/broken:latest`],
      { reject: false },
    );
    assert.notEqual(podman.exitCode, 0);
    assert.match(podman.stderr, BROKEN, `podman printed: ${podman.stderr}`);

    const ctr = await containerd.ctr(['images', 'pull', '--plain-http', `${host}/shell/broken:latest`], { reject: false });
    assert.notEqual(ctr.exitCode, 0);
    // containerd resolves with HEAD (no body): the status line is all it prints.
    assert.match(ctr.stderr, /400 broken: nix failed to build broken-1\.0/, `ctr printed: ${ctr.stderr}`);

    assert.equal(origin.steps('realise').length, 1, 'the failing build ran once: later pulls were answered from the edge');
  });

  it('an unknown package keeps its suggestion', async () => {
    const skopeo = await execa('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/shell/helo:latest`, `oci:${join(work.path, 'helo')}:x`], { reject: false });
    assert.notEqual(skopeo.exitCode, 0);
    assert.match(skopeo.stderr, /helo: no attribute \\?"helo\\?" \(did you mean hello\?\)/, `skopeo printed: ${skopeo.stderr}`);
  });

  it('a package refused by its package set prints the package set\'s reason', async () => {
    const skopeo = await execa('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/unfreething:latest`, `oci:${join(work.path, 'unfree')}:x`], { reject: false });
    assert.notEqual(skopeo.exitCode, 0);
    assert.match(skopeo.stderr, /unfreething: Package ‘unfreething-1\.0’ has an unfree license \(‘unfree’\), refusing to evaluate/, `skopeo printed: ${skopeo.stderr}`);
  });
});
