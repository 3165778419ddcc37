/**
 * End to end: the origin collects its Nix store while it builds. The origin runs in a mount
 * namespace of its own with a 200 MB tmpfs at /nix: a real, small, empty store (the machine's is
 * shared by every test), where nix builds the fixture package set from scratch. 100 MB of
 * garbage goes in; a pull of python3 (61 MB) takes the free space below NIX_GC_MIN_FREE while it
 * builds; the scheduled `nix-store --gc` frees the garbage during the build, and the build, whose
 * paths are held by GC roots, completes: the image pulls and unpacks whole.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { startOrigin, FIXTURE_PKGS } from '../../local-stack/origin-process.ts';
import { skopeoCopy, tempDir, umociUnpack } from './clients.ts';

const MB = 1_000_000;
/** Mounts a small empty store over /nix in a private mount namespace, then execs the origin (/nix exists once nix has run; not before on a new machine). */
const SMALL_STORE = ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mkdir -p /nix && mount -t tmpfs -o size=200m nixedge-test-store /nix && exec "$0" "$@"'];

describe('the Nix store collected while the origin builds', () => {
  it('fills a small store past NIX_GC_MIN_FREE and sees space come back while a build holding roots completes', async () => {
    const work = await tempDir('store-gc');
    const origin = await startOrigin(
      {
        NIXERY_PKGS_PATH: FIXTURE_PKGS,
        STORAGE_PATH: join(work.path, 'storage'),
        NIX_GC_MIN_FREE: '60M',
        NIX_GC_MAX_FREE: '150M',
        NIX_GC_CHECK_SECONDS: '1',
        NIX_TIMEOUT: '300',
        // Layers slow enough to store that the collection falls within the build.
        GZIP_LEVEL: '9',
        LAYER_CONCURRENCY: '1',
      },
      SMALL_STORE,
    );
    /**
     * Runs a command in the origin's mount namespace (its store). With the origin's root and working
     * directory too: entering a mount namespace resets both to the namespace's, which in a chroot
     * (a fresh-debian machine, many CI runners) is outside it.
     */
    const inStore = (command: string, args: string[], reject = true) =>
      execa('nsenter', ['--mount', '--root', '--wd', `--target=${origin.pid}`, '--', command, ...args], { reject });
    const free = async (): Promise<number> => {
      const { stdout } = await inStore('stat', ['-f', '-c', '%a %S', '/nix/store']);
      const [blocks, size] = stdout.trim().split(' ').map(Number);
      return blocks! * size!;
    };
    try {
      const garbage: string[] = [];
      for (const name of ['garbage-1', 'garbage-2']) {
        const file = join(work.path, name);
        await writeFile(file, randomBytes(50 * MB));
        garbage.push((await inStore('nix-store', ['--add', file])).stdout.trim());
      }
      const freeWithGarbage = await free();
      assert.ok(freeWithGarbage > 63 * MB && freeWithGarbage < 110 * MB, `the garbage leaves ${freeWithGarbage} bytes free, above the threshold`);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.equal(origin.logs.filter((line) => line.msg === 'nix store collected').length, 0, 'above NIX_GC_MIN_FREE nothing is collected');

      await skopeoCopy(origin.host, 'python3:latest', join(work.path, 'layout'));

      const collected = origin.logs.find((line) => line.msg === 'nix store collected');
      assert.ok(collected, 'the store was collected');
      const published = origin.logs.find((line) => line.msg === 'image published');
      assert.ok(published, 'the image was published');
      const realised = origin.logs.find((line) => line.step === 'realise');
      assert.ok(realised && Date.parse(String(collected['time'])) >= Date.parse(String(realised['time'])) - Number(realised.durationMs), 'collected once the build had started');
      assert.ok(Date.parse(String(collected['time'])) <= Date.parse(String(published['time'])), 'collected before the build completed (while it held its roots)');
      assert.ok(Number(collected['freedBytes']) >= 90 * MB, `space came back: ${String(collected['freedBytes'])} bytes`);
      for (const path of garbage) assert.notEqual((await inStore('nix-store', ['--check-validity', path], false)).exitCode, 0, `${path} collected`);
      assert.ok((await free()) > 100 * MB, 'free space is back above the threshold');

      const rootfs = await umociUnpack(join(work.path, 'layout'), 'pulled', join(work.path, 'bundle'));
      const python = (await readdir(join(rootfs, 'nix', 'store'))).find((name) => name.endsWith('-python3-3.11.6'));
      assert.ok(python, 'the image holds python3');
      assert.ok((await stat(join(rootfs, 'nix', 'store', python, 'lib', 'libpython3.11.so.1.0'))).size > 20 * MB, 'and all of it');
    } finally {
      await origin.stop();
      await work.cleanup();
    }
  });
});
