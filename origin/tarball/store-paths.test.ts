import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, link, mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TarEntry } from './entry.ts';
import { storePathEntries } from './store-paths.ts';
import { temporaryDirectory } from './testing.ts';

async function list(storePaths: readonly string[]): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  for await (const entry of storePathEntries(storePaths)) entries.push(entry);
  return entries;
}

function summary(entry: TarEntry): string {
  switch (entry.type) {
    case 'directory':
      return `d ${entry.path} ${entry.mode.toString(8)}`;
    case 'symlink':
      return `l ${entry.path} -> ${entry.target}`;
    case 'file':
      return `f ${entry.path} ${entry.mode.toString(8)} ${'size' in entry ? entry.size : entry.content.length}`;
  }
}

test('store paths: nix/ and nix/store first, then each path depth first in byte order', async () => {
  const tmp = await temporaryDirectory('walk');
  try {
    const hello = join(tmp.path, 'bbbb-hello');
    await mkdir(join(hello, 'bin'), { recursive: true });
    await mkdir(join(hello, 'a'), { recursive: true });
    await mkdir(join(hello, 'empty'));
    await writeFile(join(hello, 'a', 'z'), 'z');
    await writeFile(join(hello, 'a.txt'), 'a.txt');
    await writeFile(join(hello, 'B'), 'upper case sorts first');
    await writeFile(join(hello, 'bin', 'hello'), '#!/bin/sh\necho hello\n');
    await chmod(join(hello, 'bin', 'hello'), 0o555);
    await symlink('hello', join(hello, 'bin', 'hi'));
    await link(join(hello, 'bin', 'hello'), join(hello, 'bin', 'hardlink'));
    await writeFile(join(hello, 'é'), 'non-ascii sorts by UTF-8 bytes');
    await writeFile(join(hello, '~'), 'tilde');
    await chmod(join(hello, 'empty'), 0o700);
    const lib = join(tmp.path, 'aaaa-lib');
    await mkdir(lib);
    await writeFile(join(lib, 'libx.so'), 'x');
    const file = join(tmp.path, 'cccc-builder.sh');
    await writeFile(file, 'echo');
    const link_ = join(tmp.path, 'dddd-link');
    await symlink('/nix/store/bbbb-hello', link_);

    // Given out of order and with a duplicate: both are normalised away.
    const entries = await list([link_, hello, file, lib, hello]);
    assert.deepEqual(entries.map(summary), [
      'd nix 755',
      'd nix/store 755',
      `d nix/store/aaaa-lib 755`,
      'f nix/store/aaaa-lib/libx.so 644 1',
      'd nix/store/bbbb-hello 755',
      'f nix/store/bbbb-hello/B 644 22',
      'd nix/store/bbbb-hello/a 755',
      'f nix/store/bbbb-hello/a/z 644 1',
      'f nix/store/bbbb-hello/a.txt 644 5',
      'd nix/store/bbbb-hello/bin 755',
      'f nix/store/bbbb-hello/bin/hardlink 555 21',
      'f nix/store/bbbb-hello/bin/hello 555 21',
      'l nix/store/bbbb-hello/bin/hi -> hello',
      'd nix/store/bbbb-hello/empty 700',
      'f nix/store/bbbb-hello/~ 644 5',
      'f nix/store/bbbb-hello/é 644 30',
      'f nix/store/cccc-builder.sh 644 4',
      'l nix/store/dddd-link -> /nix/store/bbbb-hello',
    ]);
    const hardlink = entries.find((entry) => entry.path.endsWith('/hardlink'));
    assert.ok(hardlink?.type === 'file' && 'source' in hardlink);
    assert.equal(hardlink.source, join(hello, 'bin', 'hardlink'));
  } finally {
    await tmp.cleanup();
  }
});

test('store paths: special files, relative paths, name clashes and missing paths are refused', async () => {
  const tmp = await temporaryDirectory('special');
  try {
    const pkg = join(tmp.path, 'eeee-socket');
    await mkdir(pkg);
    const socketPath = join(pkg, 'sock');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      await assert.rejects(list([pkg]), (error: Error) => error.message.includes(socketPath));
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await assert.rejects(list(['relative/path']), /must be absolute/);
    await mkdir(join(tmp.path, 'other'));
    await mkdir(join(tmp.path, 'other', 'eeee-socket'));
    await assert.rejects(list([pkg, join(tmp.path, 'other', 'eeee-socket')]), /share the name/);
    await assert.rejects(list([join(tmp.path, 'missing')]), (error: Error) => {
      assert.match(error.message, /missing/);
      assert.ok(error.cause instanceof Error);
      return true;
    });
  } finally {
    await tmp.cleanup();
  }
});
