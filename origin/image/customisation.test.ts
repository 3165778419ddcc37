import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { TarEntry } from '../tarball/entry.ts';
import { packTar } from '../tarball/pack.ts';
import { collect, tarListing, temporaryDirectory } from '../tarball/testing.ts';
import { customisationEntries } from './customisation.ts';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/var/empty:/bin/false\n';
const GROUP = 'root:x:0:\nnobody:x:65534:\n';

/** Creates files (`content`), directories (trailing `/`) and symlinks (`-> target`) under `root`. */
async function makePackage(root: string, spec: readonly string[]): Promise<string> {
  await mkdir(root, { recursive: true });
  for (const item of spec) {
    const [path = '', target] = item.split(' -> ');
    const full = join(root, path);
    if (target !== undefined) {
      await mkdir(dirname(full), { recursive: true });
      await symlink(target, full);
    } else if (path.endsWith('/')) {
      await mkdir(full, { recursive: true });
    } else {
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, path);
    }
  }
  return root;
}

function summary(entry: TarEntry, replace: Map<string, string>): string {
  const short = (value: string): string => {
    let result = value;
    for (const [from, to] of replace) result = result.replaceAll(from, to);
    return result;
  };
  switch (entry.type) {
    case 'directory':
      return `${entry.path}/ ${entry.mode.toString(8)}`;
    case 'symlink':
      return `${entry.path} -> ${short(entry.target)}`;
    case 'file':
      return `${entry.path} ${entry.mode.toString(8)} file`;
  }
}

function fileContent(entries: readonly TarEntry[], path: string): string {
  const entry = entries.find((candidate) => candidate.path === path);
  assert.ok(entry?.type === 'file' && 'content' in entry, `${path} is an inline file`);
  return Buffer.from(entry.content).toString('utf8');
}

test('customisation: packages joined with buildEnv rules, first package wins collisions', async () => {
  const tmp = await temporaryDirectory('join');
  try {
    const a = await makePackage(join(tmp.path, 'aaaa-hello'), [
      'bin/hello',
      'bin/sh -> bash',
      'bin/bash',
      'lib/liba.so',
      'lib/x',
      'lib/both/',
      'share/man/man1/hello.1',
      'etc/profile.d/hello.sh',
      'etc/passwd',
      'include/hello.h', // not joined: only bin, lib, share, etc are
    ]);
    const b = await makePackage(join(tmp.path, 'bbbb-coreutils'), [
      'bin/env',
      'bin/hello',
      'lib/x/inner',
      'lib/both/from-b',
      'share/man/man1/env.1',
      'share/doc/coreutils/README',
    ]);
    const c = await makePackage(join(tmp.path, 'cccc-libs'), ['lib/libc.so', 'lib/both -> ' + join(tmp.path, 'dddd-dir'), 'bin -> ../nothing']);
    await makePackage(join(tmp.path, 'dddd-dir'), ['from-c']);
    const names = new Map([
      [a, 'A'],
      [b, 'B'],
      [c, 'C'],
      [join(tmp.path, 'dddd-dir'), 'D'],
    ]);

    const entries = await customisationEntries({ packages: [a, b, c] });
    assert.deepEqual(
      entries.map((entry) => summary(entry, names)),
      [
        'bin/ 755',
        'bin/bash -> A/bin/bash',
        'bin/env -> B/bin/env',
        'bin/hello -> A/bin/hello', // A comes first
        'bin/sh -> A/bin/sh', // a package's symlink is a leaf
        'etc/ 755',
        'etc/group 644 file',
        'etc/passwd 644 file', // ours, not A's
        'etc/profile.d -> A/etc/profile.d',
        'lib/ 755',
        'lib/both/ 755', // A's directory merges with B's and with C's symlink to a directory
        'lib/both/from-b -> B/lib/both/from-b',
        'lib/both/from-c -> C/lib/both/from-c',
        'lib/liba.so -> A/lib/liba.so',
        'lib/libc.so -> C/lib/libc.so',
        'lib/x -> A/lib/x', // A's file wins over B's directory
        'root/ 700',
        'share/ 755',
        'share/doc -> B/share/doc', // provided by one package: one symlink
        'share/man/ 755',
        'share/man/man1/ 755',
        'share/man/man1/env.1 -> B/share/man/man1/env.1',
        'share/man/man1/hello.1 -> A/share/man/man1/hello.1',
        'tmp/ 1777',
        'usr/ 755',
        'usr/bin/ 755',
        'usr/bin/env -> B/bin/env',
      ],
    );
    assert.equal(fileContent(entries, 'etc/passwd'), PASSWD);
    assert.equal(fileContent(entries, 'etc/group'), GROUP);

    // Putting B first flips who wins the collisions.
    const flipped = (await customisationEntries({ packages: [b, a, c] })).map((entry) => summary(entry, names));
    assert.ok(flipped.includes('bin/hello -> B/bin/hello'));
    assert.ok(flipped.includes('lib/x -> B/lib/x'), "B's directory wins over A's file, and is the only directory");

    // The first package decides the kind: C's dangling `bin` symlink, first, shadows every bin/.
    const cFirst = (await customisationEntries({ packages: [c, a, b] })).map((entry) => summary(entry, names));
    assert.ok(cFirst.includes('bin -> C/bin'));
    assert.ok(!cFirst.some((line) => line.startsWith('usr/')), 'no bin/env through a dangling bin');

    // Deterministic: same input, same entries.
    assert.deepEqual(await customisationEntries({ packages: [a, b, c] }), entries);
  } finally {
    await tmp.cleanup();
  }
});

test('customisation: a single package is linked whole; /usr/bin/env only with some bin/env', async () => {
  const tmp = await temporaryDirectory('single');
  try {
    const coreutils = await makePackage(join(tmp.path, 'eeee-coreutils'), ['bin/env', 'bin/ls', 'share/info/']);
    const hello = await makePackage(join(tmp.path, 'ffff-hello'), ['bin/hello']);
    const names = new Map([
      [coreutils, 'CU'],
      [hello, 'H'],
    ]);

    const withEnv = (await customisationEntries({ packages: [coreutils] })).map((entry) => summary(entry, names));
    assert.deepEqual(withEnv, [
      'bin -> CU/bin',
      'etc/ 755',
      'etc/group 644 file',
      'etc/passwd 644 file',
      'root/ 700',
      'share -> CU/share',
      'tmp/ 1777',
      'usr/ 755',
      'usr/bin/ 755',
      'usr/bin/env -> CU/bin/env',
    ]);

    const withoutEnv = (await customisationEntries({ packages: [hello] })).map((entry) => summary(entry, names));
    assert.deepEqual(withoutEnv, ['bin -> H/bin', 'etc/ 755', 'etc/group 644 file', 'etc/passwd 644 file', 'root/ 700', 'tmp/ 1777']);

    const empty = (await customisationEntries({ packages: [] })).map((entry) => summary(entry, names));
    assert.deepEqual(empty, ['etc/ 755', 'etc/group 644 file', 'etc/passwd 644 file', 'root/ 700', 'tmp/ 1777']);

    // Duplicates do not matter; missing and relative package paths are errors.
    assert.deepEqual(
      await customisationEntries({ packages: [coreutils, hello, coreutils] }),
      await customisationEntries({ packages: [coreutils, hello] }),
    );
    await assert.rejects(customisationEntries({ packages: [join(tmp.path, 'missing')] }), /Cannot read/);
    await assert.rejects(customisationEntries({ packages: ['nix/store/x'] }), /absolute/);
  } finally {
    await tmp.cleanup();
  }
});

test('customisation: the layer packs with /tmp 1777, real passwd/group and sorted parents', async () => {
  const tmp = await temporaryDirectory('pack');
  try {
    const a = await makePackage(join(tmp.path, 'aaaa-a'), ['bin/env', 'etc/a.conf']);
    const b = await makePackage(join(tmp.path, 'bbbb-b'), ['bin/b', 'etc/b.conf']);
    const entries = await customisationEntries({ packages: [a, b] });
    // Every entry's parent directory comes before it.
    const seen = new Set<string>();
    for (const entry of entries) {
      const parent = entry.path.includes('/') ? entry.path.slice(0, entry.path.lastIndexOf('/')) : undefined;
      if (parent !== undefined) assert.ok(seen.has(parent), `${entry.path} after its parent`);
      if (entry.type === 'directory') seen.add(entry.path);
    }
    const file = join(tmp.path, 'custom.tar');
    await writeFile(
      file,
      await collect(
        packTar(
          (async function* () {
            yield* entries;
          })(),
        ),
      ),
    );
    const t = '0/0 0 1970-01-01 00:00:01';
    assert.deepEqual(await tarListing(file), [
      `drwxr-xr-x ${t} bin/`,
      `lrwxrwxrwx ${t} bin/b -> ${b}/bin/b`,
      `lrwxrwxrwx ${t} bin/env -> ${a}/bin/env`,
      `drwxr-xr-x ${t} etc/`,
      `lrwxrwxrwx ${t} etc/a.conf -> ${a}/etc/a.conf`,
      `lrwxrwxrwx ${t} etc/b.conf -> ${b}/etc/b.conf`,
      `-rw-r--r-- 0/0 ${GROUP.length} 1970-01-01 00:00:01 etc/group`,
      `-rw-r--r-- 0/0 ${PASSWD.length} 1970-01-01 00:00:01 etc/passwd`,
      `drwx------ ${t} root/`,
      `drwxrwxrwt ${t} tmp/`,
      `drwxr-xr-x ${t} usr/`,
      `drwxr-xr-x ${t} usr/bin/`,
      `lrwxrwxrwx ${t} usr/bin/env -> ${a}/bin/env`,
    ]);
  } finally {
    await tmp.cleanup();
  }
});
