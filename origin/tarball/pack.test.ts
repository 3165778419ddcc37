import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, chmod, lstat, mkdir, readdir, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TarEntry } from './entry.ts';
import { packTar } from './pack.ts';
import { storePathEntries } from './store-paths.ts';
import { collect, describeTree, run, tarListing, temporaryDirectory } from './testing.ts';

const LONG_DIRECTORY = 'd'.repeat(120);
const LONG_NAME = 'e'.repeat(150);
const LONG_TARGET = `/nix/store/${'t'.repeat(32)}-target/${'u'.repeat(120)}`;

/** Two fake store paths exercising every entry kind, odd modes, long names and an empty directory. */
async function makeStore(root: string): Promise<string[]> {
  const hello = join(root, '0c2kfrwsxqd1jg8pvc5d3fjab3bbxxhf-hello-2.12');
  await mkdir(join(hello, 'bin'), { recursive: true });
  await mkdir(join(hello, 'share', 'empty'), { recursive: true });
  await mkdir(join(hello, 'share', LONG_DIRECTORY), { recursive: true });
  await writeFile(join(hello, 'bin', 'hello'), '#!/bin/sh\necho hello\n');
  await chmod(join(hello, 'bin', 'hello'), 0o555);
  await writeFile(join(hello, 'bin', 'setuid'), 'odd modes survive');
  await chmod(join(hello, 'bin', 'setuid'), 0o4711);
  await writeFile(join(hello, 'share', 'nothing'), '');
  await chmod(join(hello, 'share', 'nothing'), 0);
  await symlink('hello', join(hello, 'bin', 'hi'));
  await symlink(LONG_TARGET, join(hello, 'share', 'long-link'));
  await writeFile(join(hello, 'share', LONG_DIRECTORY, LONG_NAME), 'deep');
  await writeFile(join(hello, 'share', 'x'.repeat(200)), 'long single component');
  await writeFile(join(hello, 'share', 'blob'), Buffer.alloc(70_000, 7));
  await chmod(join(hello, 'share', 'empty'), 0o555);
  await chmod(join(hello, 'share'), 0o555);
  const glibc = join(root, '9v5qz5p5x8f8hkzcnfyb4yx7w8bwvy2d-glibc-2.40');
  await mkdir(join(glibc, 'lib'), { recursive: true });
  await writeFile(join(glibc, 'lib', 'libc.so.6'), Buffer.alloc(1234, 1));
  return [hello, glibc];
}

async function packToFile(entries: AsyncIterable<TarEntry>, file: string): Promise<Buffer> {
  const bytes = await collect(packTar(entries));
  await writeFile(file, bytes);
  return bytes;
}

test('pack: same tree gives the same bytes, even after touch and chown of the sources', async () => {
  const tmp = await temporaryDirectory('determinism');
  try {
    const store = join(tmp.path, 'store');
    await mkdir(store);
    const paths = await makeStore(store);
    const first = await collect(packTar(storePathEntries(paths)));
    const second = await collect(packTar(storePathEntries(paths)));
    assert.ok(first.equals(second));
    assert.equal(first.length % 512, 0);

    await run('chown', ['-R', '-h', '1234:5678', store]);
    await chmod(join(paths[0] ?? '', 'bin', 'setuid'), 0o4711); // chown clears set-uid bits
    await run('find', [store, '-exec', 'touch', '-h', '-d', '2011-02-03 04:05:06', '{}', '+']);
    const third = await collect(packTar(storePathEntries(paths)));
    assert.ok(first.equals(third), 'mtime/owner of the sources must not leak into the tar');

    // Long names use pax headers holding only path/linkpath: no times, no owner names.
    const text = first.toString('latin1');
    assert.ok(text.includes(' path=nix/store/'));
    assert.ok(text.includes(` linkpath=${LONG_TARGET}`));
    for (const key of ['atime=', 'ctime=', 'mtime=', 'uname=', 'gname=', 'root']) assert.ok(!text.includes(key), key);
  } finally {
    await tmp.cleanup();
  }
});

test('pack: GNU tar lists owner 0/0, modes, mtime 1, symlink targets and every directory', async () => {
  const tmp = await temporaryDirectory('listing');
  try {
    const paths = await makeStore(tmp.path);
    const file = join(tmp.path, 'layer.tar');
    await packToFile(storePathEntries(paths), file);
    const listing = await tarListing(file);
    const h = 'nix/store/0c2kfrwsxqd1jg8pvc5d3fjab3bbxxhf-hello-2.12';
    const g = 'nix/store/9v5qz5p5x8f8hkzcnfyb4yx7w8bwvy2d-glibc-2.40';
    const t = '1970-01-01 00:00:01';
    assert.deepEqual(listing, [
      `drwxr-xr-x 0/0 0 ${t} nix/`,
      `drwxr-xr-x 0/0 0 ${t} nix/store/`,
      `drwxr-xr-x 0/0 0 ${t} ${h}/`,
      `drwxr-xr-x 0/0 0 ${t} ${h}/bin/`,
      `-r-xr-xr-x 0/0 21 ${t} ${h}/bin/hello`,
      `lrwxrwxrwx 0/0 0 ${t} ${h}/bin/hi -> hello`,
      `-rws--x--x 0/0 17 ${t} ${h}/bin/setuid`,
      `dr-xr-xr-x 0/0 0 ${t} ${h}/share/`,
      `-rw-r--r-- 0/0 70000 ${t} ${h}/share/blob`,
      `drwxr-xr-x 0/0 0 ${t} ${h}/share/${LONG_DIRECTORY}/`,
      `-rw-r--r-- 0/0 4 ${t} ${h}/share/${LONG_DIRECTORY}/${LONG_NAME}`,
      `dr-xr-xr-x 0/0 0 ${t} ${h}/share/empty/`,
      `lrwxrwxrwx 0/0 0 ${t} ${h}/share/long-link -> ${LONG_TARGET}`,
      `---------- 0/0 0 ${t} ${h}/share/nothing`,
      `-rw-r--r-- 0/0 21 ${t} ${h}/share/${'x'.repeat(200)}`,
      `drwxr-xr-x 0/0 0 ${t} ${g}/`,
      `drwxr-xr-x 0/0 0 ${t} ${g}/lib/`,
      `-rw-r--r-- 0/0 1234 ${t} ${g}/lib/libc.so.6`,
    ]);
    assert.ok(`${h}/share/${LONG_DIRECTORY}/${LONG_NAME}`.length > 255);
  } finally {
    await tmp.cleanup();
  }
});

test('pack: extracting with tar reproduces the tree, long paths included', async () => {
  const tmp = await temporaryDirectory('extract');
  try {
    const store = join(tmp.path, 'store');
    await mkdir(store);
    const paths = await makeStore(store);
    const file = join(tmp.path, 'layer.tar');
    await packToFile(storePathEntries(paths), file);
    const out = join(tmp.path, 'out');
    await mkdir(out);
    await run('tar', ['-xpf', file, '-C', out]);
    assert.deepEqual(await readdir(out), ['nix']);
    assert.equal((await lstat(join(out, 'nix', 'store'))).mode & 0o7777, 0o755);
    assert.deepEqual(await describeTree(join(out, 'nix', 'store')), await describeTree(store));
  } finally {
    await tmp.cleanup();
  }
});

test('pack: real /nix/store paths round-trip', async () => {
  // The closure of a fixture package, built by nix now: real store paths (needs nix, as the suite does).
  const fixture = fileURLToPath(new URL('../../test/fixtures/pkgs', import.meta.url));
  const out = (await run('nix-build', [fixture, '-A', 'git', '--no-out-link'])).toString().trim();
  const paths = (await run('nix-store', ['--query', '--requisites', out])).toString().trim().split('\n').sort();
  assert.ok(paths.length >= 5, `Expected the closure of git to hold several store paths, got ${paths.length}`);
  const tmp = await temporaryDirectory('real-store');
  try {
    const file = join(tmp.path, 'layer.tar');
    await packToFile(storePathEntries(paths), file);
    const out = join(tmp.path, 'out');
    await mkdir(out);
    await run('tar', ['-xpf', file, '-C', out]);
    const store = join(tmp.path, 'reference');
    await mkdir(store);
    await run('cp', ['-a', ...paths, store]);
    assert.deepEqual(await describeTree(join(out, 'nix', 'store')), await describeTree(store));
  } finally {
    await tmp.cleanup();
  }
});

test('pack: inline content, and mode 0000 is kept', async () => {
  const tmp = await temporaryDirectory('inline');
  try {
    async function* entries(): AsyncGenerator<TarEntry> {
      yield { type: 'directory', path: 'etc', mode: 0o755 };
      yield { type: 'file', path: 'etc/passwd', mode: 0o644, content: new TextEncoder().encode('root:x:0:0::/root:/bin/sh\n') };
      yield { type: 'file', path: 'etc/shadow', mode: 0, content: new Uint8Array(0) };
      yield { type: 'directory', path: 'tmp', mode: 0o1777 };
    }
    const file = join(tmp.path, 'inline.tar');
    await packToFile(entries(), file);
    assert.deepEqual(await tarListing(file), [
      'drwxr-xr-x 0/0 0 1970-01-01 00:00:01 etc/',
      '-rw-r--r-- 0/0 26 1970-01-01 00:00:01 etc/passwd',
      '---------- 0/0 0 1970-01-01 00:00:01 etc/shadow',
      'drwxrwxrwt 0/0 0 1970-01-01 00:00:01 tmp/',
    ]);
    const passwd = await run('tar', ['-xOf', file, 'etc/passwd']);
    assert.equal(passwd.toString(), 'root:x:0:0::/root:/bin/sh\n');
  } finally {
    await tmp.cleanup();
  }
});

test('pack: a file whose size differs from its entry fails the stream', async () => {
  const tmp = await temporaryDirectory('size');
  try {
    const source = join(tmp.path, 'file');
    await writeFile(source, 'twelve bytes');
    const stream = packTar(
      (async function* () {
        yield { type: 'file', path: 'file', mode: 0o644, size: 10, source } satisfies TarEntry;
      })(),
    );
    await assert.rejects(collect(stream), /changed size: listed with 10 bytes, now 12/);
    assert.ok(stream.destroyed);
  } finally {
    await tmp.cleanup();
  }
});

for (const change of ['shrinks', 'grows'] as const) {
  test(`pack: a file that ${change} while it is packed fails the stream`, async () => {
    const tmp = await temporaryDirectory('mid-pack');
    try {
      const pkg = join(tmp.path, 'ffff-big');
      await mkdir(pkg);
      const source = join(pkg, 'big');
      await writeFile(source, Buffer.alloc(16 * 1024 * 1024, 1));
      const stream = packTar(storePathEntries([pkg]));
      const consume = async (): Promise<void> => {
        let changed = false;
        let received = 0;
        for await (const chunk of stream) {
          received += (chunk as Buffer).length;
          // Once the file's content is flowing (the walk has listed it with its full size).
          if (!changed && received > 2 * 1024 * 1024) {
            changed = true;
            if (change === 'shrinks') await truncate(source, 4 * 1024 * 1024);
            else await appendFile(source, 'more');
          }
        }
      };
      await assert.rejects(consume(), change === 'shrinks' ? /shrank while being read/ : /grew while being read/);
    } finally {
      await tmp.cleanup();
    }
  });
}

test('pack: an error from the entry iterator destroys the stream with that error', async () => {
  const failure = new Error('evaluation went wrong');
  const stream = packTar(
    (async function* () {
      yield { type: 'directory', path: 'nix', mode: 0o755 } satisfies TarEntry;
      throw failure;
    })(),
  );
  await assert.rejects(collect(stream), (error: unknown) => error === failure);
});

test('pack: invalid paths and missing sources are errors', async () => {
  for (const path of ['/etc', 'a//b', 'a/../b', '', 'dir/']) {
    const stream = packTar(
      (async function* () {
        yield { type: 'directory', path, mode: 0o755 } satisfies TarEntry;
      })(),
    );
    await assert.rejects(collect(stream), /Invalid tar entry path/);
  }
  const missing = packTar(
    (async function* () {
      yield { type: 'file', path: 'f', mode: 0o644, size: 1, source: '/nonexistent/file' } satisfies TarEntry;
    })(),
  );
  await assert.rejects(collect(missing), (error: Error) => {
    assert.match(error.message, /Cannot open \/nonexistent\/file/);
    assert.equal((error.cause as { code?: string }).code, 'ENOENT');
    return true;
  });
});

test('pack: destroying the output stops reading entries', async () => {
  let finished = false;
  let produced = 0;
  const stream = packTar(
    (async function* () {
      try {
        for (;;) {
          produced++;
          yield { type: 'directory', path: `d${produced}`, mode: 0o755 } satisfies TarEntry;
        }
      } finally {
        finished = true;
      }
    })(),
  );
  // Nobody reads: the producer must stop at the output's high-water mark, not run forever.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(produced < 1000, `produced ${produced} entries with no reader`);
  stream.destroy();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(finished, 'the entry iterator was closed');
});
