/** Realising with real nix: outputs are held as GC roots until released. */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { holdDerivations, realise, classifyBuildFailure } from './realise.ts';

const FIXTURE = fileURLToPath(new URL('../../test/fixtures/pkgs', import.meta.url));

/** The GC roots nix knows of that point at `storePath`. */
async function rootsOf(storePath: string): Promise<string[]> {
  const { stdout } = await execa('nix-store', ['--gc', '--print-roots']);
  return stdout
    .split('\n')
    .filter((line) => line.endsWith(` -> ${storePath}`) && line.includes('nixedge-gcroots-'))
    .map((line) => line.split(' -> ')[0]!);
}

describe('realise', () => {
  it('holds a GC root on each output until released', async () => {
    const { stdout: drv } = await execa('nix-instantiate', [FIXTURE, '-A', 'hello']);
    const { stdout: out } = await execa('nix-store', ['--query', '--outputs', drv.trim()]);
    const held = await realise([drv.trim()], AbortSignal.timeout(60_000));
    assert.equal((await rootsOf(out.trim())).length, 1, 'the output is a GC root while the image is stored');
    await held.release();
    assert.deepEqual(await rootsOf(out.trim()), [], 'released afterwards');
  });

  it('holds a GC root on evaluated .drv files (through a derivation referring to them, never built) until released', async () => {
    const { stdout } = await execa('nix-instantiate', [FIXTURE, '-A', 'hello', '-A', 'jq']);
    const drvs = stdout.trim().split('\n');
    const rooted = async (drv: string): Promise<string[]> =>
      (await execa('nix-store', ['--query', '--roots', drv])).stdout.split('\n').filter((line) => line.includes(`nixedge-gcroots-${process.pid}/`));
    await using held = await holdDerivations(drvs, AbortSignal.timeout(60_000));
    for (const drv of drvs) assert.equal((await rooted(drv)).length, 1, `${drv} is held`);
    await held.release();
    for (const drv of drvs) assert.deepEqual(await rooted(drv), [], `${drv} released`);
  });

  it("passes nix its own configuration: builders and max-jobs from NIX_CONFIG decide where the build runs", async () => {
    // A derivation never built before, so nix has to decide where to build it.
    const name = `nixedge-remote-${process.pid}-${Date.now()}`;
    const { stdout } = await execa('nix-instantiate', ['-E', `derivation { name = "${name}"; system = builtins.currentSystem; builder = "/bin/busybox"; args = [ "true" ]; }`]);
    const previous = process.env['NIX_CONFIG'];
    // No local builds, one remote builder (nothing listens there: the build cannot start, and says where it looked).
    process.env['NIX_CONFIG'] = `${previous ?? ''}\nmax-jobs = 0\nbuilders = ssh-ng://nixedge-builder@127.0.0.1:1 x86_64-linux\nconnect-timeout = 2`;
    try {
      await assert.rejects(realise([stdout.trim()], AbortSignal.timeout(60_000)), (error: unknown) => {
        const stderr = (error as { stderr?: string }).stderr ?? '';
        assert.match(stderr, /1 available machines/, 'nix saw the configured builder');
        assert.match(stderr, /unable to start any build; remote machines/, 'and, with max-jobs = 0, nothing local');
        return true;
      });
    } finally {
      if (previous === undefined) delete process.env['NIX_CONFIG'];
      else process.env['NIX_CONFIG'] = previous;
    }
  });

  it("tells whose failure a failed realise is from nix's words, naming only derivations", () => {
    const drv = "'/nix/store/0123456789abcdfghijklmnpqrsvwxyz-broken-1.0.drv'";
    assert.deepEqual(classifyBuildFailure(`error: builder for ${drv} failed with exit code 1;\n       last 10 log lines:\n       > SECRET`), {
      kind: 'build-failed',
      derivations: ['broken-1.0'],
      drvPaths: ['/nix/store/0123456789abcdfghijklmnpqrsvwxyz-broken-1.0.drv'],
      exitCode: 1,
    });
    assert.deepEqual(
      classifyBuildFailure("error: a 'aarch64-linux' with features {} is required to build '/nix/store/x-hello.drv', but I am a 'x86_64-linux' with features {}"),
      { kind: 'unsupported-system', wanted: 'aarch64-linux', machine: 'x86_64-linux' },
    );
    assert.deepEqual(classifyBuildFailure(`error: builder for ${drv} failed with exit code 1;\n> curl: (6) Could not resolve host: example.org`), { kind: 'download-failed' });
    assert.deepEqual(classifyBuildFailure('error: unable to download \'https://cache.nixos.org/nar/x.nar.xz\': HTTP error 503'), { kind: 'download-failed' });
    assert.deepEqual(classifyBuildFailure('error: writing to file: No space left on device'), { kind: 'disk-full' });
    assert.deepEqual(classifyBuildFailure('something else'), { kind: 'other' });
    assert.deepEqual(classifyBuildFailure(`error: builder for ${drv} failed due to signal 9 (Killed)`), { kind: 'killed', signal: 9 }, 'a killed builder is not the request\'s failure');
  });
});
