// The layer pipeline (concurrent walk, read-ahead, chunked tar, coalesced gzip) against a
// straightforward reference: a synchronous walk, tar-stream's own `pack` fed one entry at a time,
// and zlib's gzipSync. The tar and gzip bytes must be identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack as createPack } from 'tar-stream';
import type { Header } from 'tar-stream';
import { coalesce, compressLayer } from './compress.ts';
import type { TarEntry } from './entry.ts';
import { packTar } from './pack.ts';
import { storePathEntries } from './store-paths.ts';
import { collect, temporaryDirectory } from './testing.ts';

/** A deterministic pseudo-random sequence (xorshift32), so failures reproduce. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
}

/**
 * Store paths with thousands of small files (more than the read-ahead ring holds, so it wraps and
 * fills), files around the small/large boundary and block multiples, big files, symlinks (short,
 * long, non-ASCII), empty directories, long and non-ASCII names, odd modes.
 */
async function makeTree(root: string): Promise<string[]> {
  const next = random(0x5eed);
  const bytes = (size: number): Buffer => {
    const buffer = Buffer.allocUnsafe(size);
    // Compressible text with some noise, like real store paths.
    for (let i = 0; i < size; i++) buffer[i] = next() < 0.9 ? 97 + ((i * 7) % 26) : Math.floor(next() * 256);
    return buffer;
  };

  const many = join(root, '1111aaaabbbbccccddddeeeeffffgggg-many-small');
  for (let d = 0; d < 40; d++) {
    const dir = join(many, 'lib', `dir${d}`, d % 3 === 0 ? 'deeper/still' : 'flat');
    await mkdir(dir, { recursive: true });
    for (let f = 0; f < 60; f++) {
      const size = f % 10 === 0 ? 0 : Math.floor(next() ** 3 * 24_000);
      await writeFile(join(dir, `file-${f}.py`), bytes(size));
      if (f % 17 === 0) await chmod(join(dir, `file-${f}.py`), 0o755);
    }
    if (d % 5 === 0) await symlink(`flat/file-1.py`, join(many, 'lib', `dir${d}`, 'link'));
  }
  await mkdir(join(many, 'share', 'empty'), { recursive: true });
  await mkdir(join(many, 'share', 'ünïcödé-dir'), { recursive: true });
  await writeFile(join(many, 'share', 'ünïcödé-dir', 'naïve.txt'), 'non-ASCII names get pax headers');
  await symlink(`/nix/store/${'t'.repeat(32)}-target/${'u'.repeat(120)}`, join(many, 'share', 'long-link'));
  await symlink('ziel-ß', join(many, 'share', 'unicode-link'));
  const deep = join(many, 'share', 'd'.repeat(90), 'e'.repeat(90));
  await mkdir(deep, { recursive: true });
  await writeFile(join(deep, 'f'.repeat(99)), 'over 255 bytes of path');
  await writeFile(join(many, 'share', 'x'.repeat(200)), 'one long component');
  // ustar's limits, each side of them: names of 99-101 bytes, prefixes of 153-157, links of 99-101.
  const layerBase = `nix/store/${basename(many)}/share/b`;
  for (let prefix = 153; prefix <= 157; prefix++) {
    const component = 'p'.repeat(prefix - layerBase.length - 1);
    await mkdir(join(many, 'share', 'b', component), { recursive: true });
    for (const length of [99, 100, 101]) {
      await writeFile(join(many, 'share', 'b', component, 'n'.repeat(length)), `${prefix} ${length}`);
    }
  }
  for (const length of [99, 100, 101]) await symlink('l'.repeat(length), join(many, 'share', `link-${length}`));
  await chmod(join(many, 'share', 'empty'), 0o555);

  const big = join(root, '2222aaaabbbbccccddddeeeeffffgggg-big');
  await mkdir(join(big, 'lib'), { recursive: true });
  const sizes = [
    255 * 1024, 256 * 1024 - 2, 256 * 1024 - 1, 256 * 1024, 256 * 1024 + 1, 512 * 1024, 3 * 1024 * 1024 + 7,
    9 * 1024 * 1024 + 511, 511, 512, 513, 1024,
  ];
  for (const [i, size] of sizes.entries()) await writeFile(join(big, 'lib', `blob-${i}`), bytes(size));
  // Large files between runs of small ones: the writer streams while the reader runs ahead.
  for (let i = 0; i < 30; i++) await writeFile(join(big, 'lib', `blob-${i}x`), bytes(i % 4 === 0 ? 300_000 : 200_000 + i * 1000));
  await writeFile(join(big, 'lib', 'setuid'), 'odd mode');
  await chmod(join(big, 'lib', 'setuid'), 0o4711);
  await writeFile(join(big, 'lib', 'none'), '');
  await chmod(join(big, 'lib', 'none'), 0);
  return [big, many];
}

/** The entries in `tar --sort=name` order, by a plain synchronous walk. */
function referenceEntries(storePaths: readonly string[]): TarEntry[] {
  const entries: TarEntry[] = [
    { type: 'directory', path: 'nix', mode: 0o755 },
    { type: 'directory', path: 'nix/store', mode: 0o755 },
  ];
  const visit = (hostPath: string, path: string): void => {
    const stats = lstatSync(hostPath);
    if (stats.isSymbolicLink()) {
      entries.push({ type: 'symlink', path, target: readlinkSync(hostPath) });
    } else if (stats.isFile()) {
      entries.push({ type: 'file', path, mode: stats.mode & 0o7777, size: stats.size, source: hostPath });
    } else {
      entries.push({ type: 'directory', path, mode: stats.mode & 0o7777 });
      const names = readdirSync(hostPath, { encoding: 'buffer' }).sort(Buffer.compare);
      for (const name of names) visit(join(hostPath, name.toString('utf8')), `${path}/${name.toString('utf8')}`);
    }
  };
  const sorted = [...storePaths].sort((a, b) => Buffer.compare(Buffer.from(basename(a)), Buffer.from(basename(b))));
  for (const storePath of sorted) visit(storePath, `nix/store/${basename(storePath)}`);
  return entries;
}

/** tar-stream's pack, one entry at a time, whole files read synchronously (what pack.ts used to be). */
async function referenceTar(entries: readonly TarEntry[]): Promise<Buffer> {
  const tar = createPack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve);
    tar.on('error', reject);
  });
  const common = { uid: 0, gid: 0, mtime: new Date(1000) };
  for (const entry of entries) {
    let header: Partial<Header> & Pick<Header, 'name'>;
    let content: Buffer | undefined;
    if (entry.type === 'directory') {
      header = { ...common, name: `${entry.path}/`, type: 'directory', mode: 0o040000 | entry.mode };
    } else if (entry.type === 'symlink') {
      header = { ...common, name: entry.path, type: 'symlink', mode: 0o120777, linkname: entry.target };
    } else {
      header = { ...common, name: entry.path, type: 'file', mode: 0o100000 | entry.mode };
      content = 'source' in entry ? readFileSync(entry.source) : Buffer.from(entry.content);
    }
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null): void => (error ? reject(error) : resolve());
      if (content === undefined) tar.entry(header, done);
      else tar.entry(header, content, done);
    });
  }
  tar.finalize();
  await ended;
  return Buffer.concat(chunks);
}

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

test('reference: the pipeline writes the same tar and gzip bytes as tar-stream + gzipSync', async () => {
  const tmp = await temporaryDirectory('reference');
  try {
    const store = join(tmp.path, 'store');
    await mkdir(store);
    const paths = await makeTree(store);

    const expectedTar = await referenceTar(referenceEntries(paths));
    const tar = await collect(packTar(storePathEntries(paths)));
    assert.equal(tar.length, expectedTar.length);
    assert.ok(tar.equals(expectedTar), 'tar bytes differ from tar-stream');
    assert.ok(tar.length > 16 * 1024 * 1024, `a tree large enough to wrap the read-ahead ring (${tar.length} bytes)`);

    for (const level of [1, 6]) {
      const gzip = gzipSync(expectedTar, { level });
      gzip[9] = 3; // OS byte: Unix
      const chunks: Buffer[] = [];
      const digests = await compressLayer(
        packTar(storePathEntries(paths)),
        async (compressed) => {
          for await (const chunk of compressed) chunks.push(chunk as Buffer);
        },
        { level },
      );
      assert.ok(Buffer.concat(chunks).equals(gzip), `gzip bytes differ at level ${level}`);
      assert.deepEqual(digests, { digest: sha256(gzip), diffId: sha256(expectedTar), size: gzip.length });
    }

    // Inline content, and a stream of tiny chunks through compressLayer's coalescing.
    const inline: TarEntry[] = [
      { type: 'directory', path: 'etc', mode: 0o755 },
      { type: 'file', path: 'etc/passwd', mode: 0o644, content: new TextEncoder().encode('root:x:0:0::/root:/bin/sh\n') },
      { type: 'file', path: `etc/${'ä'.repeat(80)}`, mode: 0o600, content: new Uint8Array(300_000).fill(5) },
      { type: 'file', path: 'etc/empty', mode: 0, content: new Uint8Array(0) },
    ];
    const inlineTar = await collect(packTar(Readable.from(inline)));
    assert.ok(inlineTar.equals(await referenceTar(inline)), 'inline entries');
  } finally {
    await tmp.cleanup();
  }
});

test('coalesce: chunks of at least the target, the same bytes in the same order', async () => {
  const next = random(42);
  const input: Buffer[] = [];
  for (let i = 0; i < 2000; i++) {
    const size = next() < 0.05 ? Math.floor(next() * 400_000) : Math.floor(next() * 2000);
    input.push(Buffer.alloc(size, i % 251));
  }
  const output: Buffer[] = [];
  for await (const chunk of Readable.from(input).pipe(coalesce(128 * 1024))) output.push(chunk as Buffer);
  assert.ok(Buffer.concat(output).equals(Buffer.concat(input)));
  assert.ok(output.slice(0, -1).every((chunk) => chunk.length >= 128 * 1024), 'only the last chunk is short');
  const empty: Buffer[] = [];
  for await (const chunk of Readable.from([Buffer.alloc(0)]).pipe(coalesce(16))) empty.push(chunk as Buffer);
  assert.equal(Buffer.concat(empty).length, 0);
});

test('pack: destroying the output mid-read-ahead closes the iterator and every file it opened', async () => {
  const tmp = await temporaryDirectory('read-ahead-destroy');
  try {
    const pkg = join(tmp.path, '3333-small');
    await mkdir(pkg);
    for (let i = 0; i < 500; i++) await writeFile(join(pkg, `f${String(i).padStart(3, '0')}`), Buffer.alloc(100_000, i));
    const openFiles = async (): Promise<number> => (await readdir('/proc/self/fd')).length;
    const before = await openFiles();
    let closed = false;
    const stream = packTar(
      (async function* () {
        try {
          yield* storePathEntries([pkg]);
        } finally {
          closed = true;
        }
      })(),
    );
    let received = 0;
    for await (const chunk of stream) {
      received += (chunk as Buffer).length;
      if (received > 5 * 1024 * 1024) break; // destroys the stream
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(closed, 'the entry iterator was closed');
    assert.equal(await openFiles(), before, 'no file left open');
  } finally {
    await tmp.cleanup();
  }
});
