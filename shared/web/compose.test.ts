/** The front page's form composition: names as the registry reads them, problems in its words. */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { composeImage } from './compose.ts';

describe('composeImage', () => {
  it('puts the meta-packages first, lower-cases attribute names and keeps the order typed', () => {
    assert.deepEqual(composeImage({ packages: ' Git,htop  python3Packages.numpy', shell: true, arm64: true, zstd: true, tag: '' }), {
      ok: true,
      name: 'shell/arm64/zstd/git/htop/python3packages.numpy',
      tag: 'latest',
      reference: 'shell/arm64/zstd/git/htop/python3packages.numpy',
    });
  });

  it('writes a tag other than latest after the name', () => {
    assert.deepEqual(composeImage({ packages: 'hello', shell: false, arm64: false, zstd: false, tag: ' nixos-24.05 ' }), {
      ok: true,
      name: 'hello',
      tag: 'nixos-24.05',
      reference: 'hello:nixos-24.05',
    });
  });

  it('says what is wrong: nothing named, an invalid name, a digest or an invalid tag', () => {
    assert.deepEqual(composeImage({ packages: '  ', shell: false, arm64: false, zstd: false, tag: 'latest' }), { ok: false, message: 'Name at least one package (or tick shell).' });
    const invalid = composeImage({ packages: 'hello..world', shell: false, arm64: false, zstd: false, tag: 'latest' });
    assert.equal(invalid.ok, false);
    assert.match(invalid.ok ? '' : invalid.message, /^Invalid image name: .*"\.\."/);
    const digest = composeImage({ packages: 'hello', shell: false, arm64: false, zstd: false, tag: `sha256:${'a'.repeat(64)}` });
    assert.match(digest.ok ? '' : digest.message, /Expected a tag/);
    assert.equal(composeImage({ packages: 'hello', shell: false, arm64: false, zstd: false, tag: '-x' }).ok, false);
  });
});
