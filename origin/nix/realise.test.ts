/** Realising with real nix: outputs are held as GC roots until released. */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { realise, buildFailureReason } from './realise.ts';

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

  it('names the failed derivation, never the build log', () => {
    const stderr = "error: builder for '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-broken-1.0.drv' failed with exit code 1;\nSECRET";
    assert.equal(buildFailureReason(stderr), 'nix failed to build broken-1.0');
    assert.equal(buildFailureReason('something else'), 'nix failed to build the image');
  });
});
