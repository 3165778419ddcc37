import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryError, type ErrorCode } from './errors.ts';
import {
  attributePath,
  limits,
  parseImageName,
  parseReference,
  revisionSelector,
} from './reference.ts';

/** Asserts that `fn` throws a RegistryError with `code` whose message matches every pattern. */
function assertRegistryError(fn: () => unknown, code: ErrorCode, ...patterns: RegExp[]): RegistryError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof RegistryError, `Expected a RegistryError, got ${String(caught)}`);
  assert.equal(caught.code, code, `Expected ${code}, got ${caught.code}: ${caught.message}`);
  for (const pattern of patterns) assert.match(caught.message, pattern);
  return caught;
}

/** The OCI distribution spec's repository-name regex, verbatim. */
const OCI_NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;

/** A deterministic PRNG (mulberry32) so failures reproduce. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: readonly T[], next: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('parseImageName: valid names', () => {
  const cases: [name: string, packages: string[], system?: string, shell?: boolean][] = [
    ['git', ['git']],
    ['git/htop', ['git', 'htop']],
    ['htop/git', ['git', 'htop']],
    ['python3packages.numpy', ['python3packages.numpy']],
    ['a.b.c.d.e.f.g.h', ['a.b.c.d.e.f.g.h']],
    ['gcc-unwrapped', ['gcc-unwrapped']],
    ['a---b', ['a---b']],
    ['perl5_xml', ['perl5_xml']],
    ['a__b', ['a__b']],
    ['a_b.c-d.e__f', ['a_b.c-d.e__f']],
    ['7zip', ['7zip']],
    ['0', ['0']],
    ['python312', ['python312']],
    ['nodepackages.typescript/python3/jq', ['jq', 'nodepackages.typescript', 'python3']],
    ['shell', ['bashinteractive', 'coreutils', 'moreutils', 'nano'], 'x86_64-linux', true],
    ['shell/git', ['bashinteractive', 'coreutils', 'git', 'moreutils', 'nano'], 'x86_64-linux', true],
    ['arm64', [], 'aarch64-linux', false],
    ['arm64/git', ['git'], 'aarch64-linux', false],
    ['git/arm64/shell', ['bashinteractive', 'coreutils', 'git', 'moreutils', 'nano'], 'aarch64-linux', true],
    ['shell.foo', ['shell.foo']],
    ['arm64.x/shells', ['arm64.x', 'shells']],
    ['zstd/git', ['git']],
    ['git/zstd/arm64', ['git'], 'aarch64-linux', false],
    ['zstd.bin', ['zstd.bin']],
  ];
  for (const [name, packages, system = 'x86_64-linux', shell = false] of cases) {
    it(`accepts ${JSON.stringify(name)}`, () => {
      const parsed = parseImageName(name);
      assert.deepEqual(parsed.packages, packages);
      assert.equal(parsed.system, system);
      assert.equal(parsed.shell, shell);
      assert.ok(OCI_NAME.test(name), 'every accepted name is a valid OCI name');
    });
  }

  it('splits attribute paths on "." only', () => {
    assert.deepEqual(attributePath('python3packages.numpy'), ['python3packages', 'numpy']);
    assert.deepEqual(attributePath('a_b.c-d.e__f'), ['a_b', 'c-d', 'e__f']);
    assert.deepEqual(attributePath('git'), ['git']);
  });
});

describe('parseImageName: normalisation', () => {
  it('ignores order and duplicates of components', () => {
    const a = parseImageName('git/htop/jq');
    for (const other of ['jq/htop/git', 'htop/git/jq/git', 'git/git/git/htop/jq/jq']) {
      assert.deepEqual(parseImageName(other), a);
    }
  });

  it('treats meta-packages as a set too, in any position', () => {
    const a = parseImageName('shell/arm64/git');
    for (const other of ['git/arm64/shell', 'arm64/shell/git/shell/arm64', 'arm64/git/shell']) {
      assert.deepEqual(parseImageName(other), a);
    }
  });

  it('expands shell to the same packages as naming them, but keeps the shell flag apart', () => {
    const viaShell = parseImageName('shell/git');
    const explicit = parseImageName('bashinteractive/coreutils/moreutils/nano/git');
    assert.deepEqual(viaShell.packages, explicit.packages);
    assert.equal(viaShell.shell, true);
    assert.equal(explicit.shell, false);
    assert.notEqual(viaShell.canonical, explicit.canonical);
  });

  it('deduplicates shell packages that are also named explicitly', () => {
    assert.deepEqual(parseImageName('nano/shell/coreutils'), parseImageName('shell'));
  });

  it('takes zstd as the layer compression, in any position, combined with the others', () => {
    assert.equal(parseImageName('git').compression, undefined, 'no zstd: the registry\'s default');
    const zstd = parseImageName('arm64/zstd/shell/git');
    assert.equal(zstd.compression, 'zstd');
    assert.equal(zstd.system, 'aarch64-linux');
    assert.equal(zstd.shell, true);
    for (const other of ['git/shell/zstd/arm64', 'zstd/arm64/git/shell/zstd']) assert.deepEqual(parseImageName(other), zstd);
    assert.equal(parseImageName('zstd.bin').compression, undefined, 'zstd.bin is nixpkgs\' zstd package (an output)');
    assert.notEqual(parseImageName('zstd/git').canonical, parseImageName('git').canonical);
  });

  it('puts the system in the canonical form', () => {
    assert.notEqual(parseImageName('git').canonical, parseImageName('arm64/git').canonical);
    assert.equal(parseImageName('arm64/git').system, 'aarch64-linux');
  });

  it('has a canonical form with unambiguous separators', () => {
    assert.equal(parseImageName('htop/shell/git').canonical, [
      'nixedge-image/v1',
      'system=x86_64-linux',
      'shell=true',
      'bashinteractive',
      'coreutils',
      'git',
      'htop',
      'moreutils',
      'nano',
    ].join('\n'));
    assert.equal(parseImageName('arm64').canonical, 'nixedge-image/v1\nsystem=aarch64-linux\nshell=false');
    // zstd adds a line; names without it keep the form they always had (the edge's tag keys).
    assert.equal(parseImageName('hello/zstd/shell').canonical, [
      'nixedge-image/v1',
      'system=x86_64-linux',
      'shell=true',
      'compression=zstd',
      'bashinteractive',
      'coreutils',
      'hello',
      'moreutils',
      'nano',
    ].join('\n'));
    assert.equal(parseImageName('zstd/arm64').canonical, 'nixedge-image/v1\nsystem=aarch64-linux\nshell=false\ncompression=zstd');
  });

  it('never gives different package sets the same canonical form', () => {
    const names = [
      'a', 'b', 'a/b', 'a.b', 'a_b', 'a__b', 'a-b', 'a--b', 'ab', 'a/b/c', 'a.b/c', 'a/b.c', 'a.b.c',
      'shell', 'arm64', 'shell/arm64', 'bashinteractive/coreutils/moreutils/nano', 'arm64/a', 'shell/a',
      'zstd', 'zstd/a', 'zstd/shell', 'zstd/arm64', 'zstd.bin', 'zstd/zstd.bin',
    ];
    const seen = new Map<string, string>();
    for (const name of names) {
      const { canonical, packages, system, shell, compression } = parseImageName(name);
      const identity = JSON.stringify([packages, system, shell, compression]);
      const previous = seen.get(canonical);
      assert.ok(previous === undefined || previous === identity, `${name} collides with ${previous}`);
      seen.set(canonical, identity);
    }
    assert.equal(seen.size, names.length);
  });

  it('gives the same canonical form for 200 random permutations of a component list', () => {
    const components = [
      'git', 'htop', 'python3packages.numpy', 'shell', 'arm64', 'jq', 'gcc-unwrapped', 'a__b', 'git',
      'curl', 'perl5_xml', 'nodepackages.typescript', 'shell', 'z', '0', 'zstd',
    ];
    const expected = parseImageName(components.join('/'));
    const next = random(42);
    for (let i = 0; i < 200; i++) {
      const permuted = shuffle(components, next).join('/');
      const parsed = parseImageName(permuted);
      assert.equal(parsed.canonical, expected.canonical, permuted);
      assert.deepEqual(parsed.packages, expected.packages, permuted);
    }
  });
});

describe('parseImageName: invalid names', () => {
  const cases: [name: string, patterns: RegExp[]][] = [
    ['', [/empty name/]],
    ['/git', [/component 1 is empty/, /leading, trailing or doubled "\/"/]],
    ['git/', [/component 2 is empty/]],
    ['git//htop', [/component 2 is empty/]],
    ['/', [/component 1 is empty/]],
    ['Git', [/component 1 \("Git"\)/, /must be lower case/, /case-insensitively/, /write "git"/]],
    ['git/python3Packages.numpy', [/component 2/, /upper case/, /"python3packages\.numpy"/]],
    ['git htop', [/component 1/, /contains " "/]],
    ['git+htop', [/contains "\+"/, /lower-case letters and digits/]],
    ['git:latest', [/contains ":"/, /tag or digest goes after \/manifests\//]],
    ['git@sha256', [/contains "@"/]],
    ['caf\u00e9', [/contains "\u00e9"/]],
    ['git\n', [/contains "\\n"/]],
    ['git%2Fhtop', [/contains "%"/]],
    ['git\\htop', [/contains "\\\\"/]],
    ['Foo..bar', [/upper case/, /case-insensitively$/]],
    ['.git', [/component 1/, /starts with "\."/]],
    ['-git', [/starts with "-"/]],
    ['_git', [/starts with "_"/]],
    ['git.', [/ends with "\."/]],
    ['git-', [/ends with "-"/]],
    ['git/htop_', [/component 2/, /ends with "_"/]],
    ['python3packages..numpy', [/contains "\.\."/, /empty attribute name/]],
    ['a...b', [/contains "\.\."/]],
    ['a___b', [/separator sequence "___"/]],
    ['a._b', [/separator sequence "\._"/]],
    ['a-.b', [/separator sequence "-\."/]],
    ['a_-b', [/separator sequence "_-"/]],
    ['a.b.c.d.e.f.g.h.i', [/depth 9/, /limit is 8/]],
  ];
  for (const [name, patterns] of cases) {
    it(`rejects ${JSON.stringify(name)}`, () => {
      assertRegistryError(() => parseImageName(name), 'NAME_INVALID', /^Invalid image name: /, ...patterns);
      assert.ok(!OCI_NAME.test(name) || name.split('.').length > 8, 'only invalid OCI names or too deep');
    });
  }

  it('names the component in the error detail', () => {
    const error = assertRegistryError(() => parseImageName('git/htop/Jq'), 'NAME_INVALID');
    assert.deepEqual(error.detail, { component: 3 });
    assert.equal(error.status, 400);
  });

  it('truncates long values in messages', () => {
    const error = assertRegistryError(() => parseImageName(`${'A'.repeat(200)}`), 'NAME_INVALID');
    assert.ok(error.message.length < 400, error.message);
  });
});

describe('parseImageName: limits at the boundary', () => {
  it('accepts 255 characters and rejects 256', () => {
    const at = 'a'.repeat(255);
    assert.deepEqual(parseImageName(at).packages, [at]);
    assertRegistryError(() => parseImageName('a'.repeat(256)), 'NAME_INVALID', /at most 255 characters, got 256/);
    const withComponents = `${'b'.repeat(127)}/${'c'.repeat(127)}`;
    assert.equal(withComponents.length, 255);
    assert.equal(parseImageName(withComponents).packages.length, 2);
    assertRegistryError(() => parseImageName(`${withComponents}d`), 'NAME_INVALID', /got 256/);
  });

  it('checks the length before anything else, without echoing the whole name', () => {
    const error = assertRegistryError(() => parseImageName('A'.repeat(100_000)), 'NAME_INVALID', /got 100000/);
    assert.ok(error.message.length < 200);
  });

  it('accepts 64 components and rejects 65', () => {
    const components = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`).join('/');
    assert.equal(parseImageName(components(64)).packages.length, 64);
    assertRegistryError(() => parseImageName(components(65)), 'NAME_INVALID', /at most 64 components, got 65/);
    // duplicates and meta-packages count: the limit is on the name as written
    assertRegistryError(() => parseImageName(Array(65).fill('a').join('/')), 'NAME_INVALID', /got 65/);
    assertRegistryError(() => parseImageName(`${Array(20).fill('shell').join('/')}/${Array(45).fill('a').join('/')}`), 'NAME_INVALID', /got 65/);
  });

  it('accepts attribute paths of depth 8 and rejects 9', () => {
    assert.equal(parseImageName('a.b.c.d.e.f.g.h').packages.length, 1);
    assertRegistryError(() => parseImageName('git/a.b.c.d.e.f.g.h.i'), 'NAME_INVALID', /component 2/, /depth 9/);
  });
});

describe('parseImageName: agrees with the OCI grammar', () => {
  it('accepts exactly the OCI names within the limits, on 5000 random strings', () => {
    const alphabet = 'ab0._-/-._A+';
    const next = random(7);
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const length = 1 + Math.floor(next() * 12);
      let name = '';
      for (let j = 0; j < length; j++) name += alphabet[Math.floor(next() * alphabet.length)];
      const expected = OCI_NAME.test(name); // short names: no limit applies
      let actual: boolean;
      try {
        parseImageName(name);
        actual = true;
      } catch (error) {
        assert.ok(error instanceof RegistryError && error.code === 'NAME_INVALID', String(error));
        actual = false;
      }
      assert.equal(actual, expected, JSON.stringify(name));
      if (actual) accepted++;
    }
    assert.ok(accepted > 100, `the generator should produce valid names too, got ${accepted}`);
  });
});

describe('parseReference', () => {
  const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;

  const tags = [
    'latest', 'nixos-24.05', 'nixpkgs-unstable', 'master', 'Release_1.0', '_x', '0', 'v1.2.3-rc.1',
    'a'.repeat(128), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4',
  ];
  for (const tag of tags) {
    it(`parses the tag ${JSON.stringify(tag.length > 40 ? `${tag.slice(0, 20)}...` : tag)}`, () => {
      assert.deepEqual(parseReference(tag), { kind: 'tag', tag });
    });
  }

  it('parses a sha256 digest', () => {
    assert.deepEqual(parseReference(digest), { kind: 'digest', digest });
  });

  const notTags: string[] = ['', 'a'.repeat(129), '.hidden', '-x', 'a/b', 'a b', 'tag@x', 'caf\u00e9', ':abc', 'Sha256:abc', 'A:b', 'a..b:c'];
  for (const reference of notTags) {
    it(`rejects ${JSON.stringify(reference.length > 40 ? `${reference.slice(0, 20)}...` : reference)} as MANIFEST_UNKNOWN`, () => {
      assertRegistryError(() => parseReference(reference), 'MANIFEST_UNKNOWN', /Expected a tag/, /or a digest \(sha256:<64 lowercase hex>\)/);
    });
  }

  const badDigests: [reference: string, pattern: RegExp][] = [
    [`sha512:${'ab'.repeat(64)}`, /algorithm "sha512"; only sha256 is supported/],
    ['md5:d41d8cd98f00b204e9800998ecf8427e', /algorithm "md5"/],
    ['sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564', /algorithm "sha256\+b64u"/],
    [`sha256:${'AB'.repeat(32)}`, /sha256:<64 lowercase hex>/],
    [`sha256:${'a'.repeat(63)}`, /sha256:<64 lowercase hex>/],
    [`sha256:${'a'.repeat(65)}`, /sha256:<64 lowercase hex>/],
    ['sha256:', /sha256:<64 lowercase hex>/],
    [`sha256:${'g'.repeat(64)}`, /sha256:<64 lowercase hex>/],
    [`sha256:${'a'.repeat(64)}\n`, /sha256:<64 lowercase hex>/],
    ['a:b:c d', /algorithm "a"/],
  ];
  for (const [reference, pattern] of badDigests) {
    it(`rejects ${JSON.stringify(reference.slice(0, 24))} as DIGEST_INVALID`, () => {
      const error = assertRegistryError(() => parseReference(reference), 'DIGEST_INVALID', pattern);
      assert.equal(error.status, 400);
    });
  }
});

describe('revisionSelector', () => {
  const commit = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4';
  const cases: [tag: string, expected: ReturnType<typeof revisionSelector>][] = [
    ['latest', { kind: 'default' }],
    [commit, { kind: 'commit', commit }],
    ['Latest', { kind: 'ref', ref: 'Latest' }],
    ['LATEST', { kind: 'ref', ref: 'LATEST' }],
    ['nixos-24.05', { kind: 'ref', ref: 'nixos-24.05' }],
    ['nixpkgs-unstable', { kind: 'ref', ref: 'nixpkgs-unstable' }],
    ['master', { kind: 'ref', ref: 'master' }],
    ['24.05', { kind: 'ref', ref: '24.05' }],
    [commit.toUpperCase(), { kind: 'ref', ref: commit.toUpperCase() }],
    [commit.slice(0, 12), { kind: 'ref', ref: commit.slice(0, 12) }],
    [`${commit}0`, { kind: 'ref', ref: `${commit}0` }],
    ['0123456789abcdef'.repeat(4), { kind: 'ref', ref: '0123456789abcdef'.repeat(4) }],
  ];
  for (const [tag, expected] of cases) {
    it(`maps ${JSON.stringify(tag)} to ${expected.kind}`, () => {
      assert.deepEqual(revisionSelector(tag), expected);
    });
  }

  it('refuses what is not a tag', () => {
    assertRegistryError(() => revisionSelector('-rf'), 'MANIFEST_UNKNOWN', /Expected a tag/);
    assertRegistryError(() => revisionSelector(`sha256:${'a'.repeat(64)}`), 'MANIFEST_UNKNOWN', /Expected a tag, got the digest/);
  });
});
