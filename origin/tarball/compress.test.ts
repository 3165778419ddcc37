import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { compressLayer } from './compress.ts';
import { packTar } from './pack.ts';
import { storePathEntries } from './store-paths.ts';
import { run, sha256sum, temporaryDirectory } from './testing.ts';

async function fakeStorePath(root: string): Promise<string> {
  const pkg = join(root, 'k3b2z9y8x7w6v5u4t3s2r1q0p9o8n7m6-words');
  await mkdir(join(pkg, 'share'), { recursive: true });
  const words = Array.from({ length: 40_000 }, (_, i) => `word-${(i * 7919) % 10007}`).join('\n');
  await writeFile(join(pkg, 'share', 'words'), words);
  await writeFile(join(pkg, 'share', 'zeros'), Buffer.alloc(300_000));
  return pkg;
}

/** A sink that writes the blob to `file`, like a storage upload would. */
function fileSink(file: string): (compressed: Readable) => Promise<void> {
  return (compressed) => pipeline(compressed, createWriteStream(file));
}

test('compress: digest and diffId are the sha256 of the blob and of its gunzipped content', async () => {
  const tmp = await temporaryDirectory('compress');
  try {
    const pkg = await fakeStorePath(tmp.path);
    const blob = join(tmp.path, 'layer.tar.gz');
    const digests = await compressLayer(packTar(storePathEntries([pkg])), fileSink(blob));
    assert.equal(digests.digest, `sha256:${await sha256sum(blob)}`);
    const tar = join(tmp.path, 'layer.tar');
    await writeFile(tar, await run('sh', ['-c', 'gunzip -c "$0"', blob]));
    assert.equal(digests.diffId, `sha256:${await sha256sum(tar)}`);
    assert.equal(digests.size, (await readFile(blob)).length);

    // Same input, same blob; the gzip header has mtime 0, no flags, OS byte 3 (Unix).
    const again = await compressLayer(packTar(storePathEntries([pkg])), async (compressed) => {
      for await (const chunk of compressed) void chunk;
    });
    assert.deepEqual(again, digests);
    const header = (await readFile(blob)).subarray(0, 10);
    assert.deepEqual([...header], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  } finally {
    await tmp.cleanup();
  }
});

test('compress: the gzip level is respected', async () => {
  const tmp = await temporaryDirectory('level');
  try {
    const pkg = await fakeStorePath(tmp.path);
    const results = new Map<number, { size: number; header: Buffer; diffId: string }>();
    for (const level of [0, 1, 6, 9]) {
      const blob = join(tmp.path, `layer-${level}.tar.gz`);
      const options = level === 6 ? undefined : { level };
      const digests = await compressLayer(packTar(storePathEntries([pkg])), fileSink(blob), options);
      const bytes = await readFile(blob);
      results.set(level, { size: digests.size, header: bytes.subarray(0, 10), diffId: digests.diffId });
      assert.ok(gunzipSync(bytes).length > 0);
    }
    const get = (level: number) => results.get(level) ?? assert.fail(`no result for ${level}`);
    // zlib's XFL byte: 4 = fastest (levels 0-1), 2 = maximum (9), 0 otherwise.
    assert.equal(get(1).header[8], 4);
    assert.equal(get(6).header[8], 0);
    assert.equal(get(9).header[8], 2);
    assert.ok(get(0).size > get(1).size, 'level 0 stores');
    assert.ok(get(1).size > get(9).size, 'level 9 compresses more than level 1');
    assert.ok(get(9).size <= get(6).size);
    assert.equal(new Set([...results.values()].map((r) => r.diffId)).size, 1, 'diffId does not depend on the level');
    await assert.rejects(compressLayer(Readable.from([]), async () => undefined, { level: 10 }), RangeError);
  } finally {
    await tmp.cleanup();
  }
});

test('compress: a failing sink rejects with its error and tears the packing down', async () => {
  const tmp = await temporaryDirectory('sink-failure');
  try {
    const pkg = join(tmp.path, 'aaaa-big');
    await mkdir(pkg);
    await writeFile(join(pkg, 'random'), Buffer.alloc(8 * 1024 * 1024, 'not very random'));
    const tar = packTar(storePathEntries([pkg]));
    const failure = new Error('upload refused');
    let received = 0;
    await assert.rejects(
      compressLayer(tar, async (compressed) => {
        for await (const chunk of compressed) {
          received += (chunk as Buffer).length;
          if (received > 1000) throw failure;
        }
      }),
      (error: unknown) => error === failure,
    );
    assert.ok(tar.destroyed, 'the tar stream was torn down');

    // A sink that fails before reading anything.
    const early = new Error('no storage');
    await assert.rejects(
      compressLayer(packTar(storePathEntries([pkg])), () => Promise.reject(early)),
      (error: unknown) => error === early,
    );

    // A sink that returns without reading the whole blob is a bug, not a success.
    await assert.rejects(
      compressLayer(packTar(storePathEntries([pkg])), async () => undefined),
      /finished before reading the whole layer/,
    );
  } finally {
    await tmp.cleanup();
  }
});

test('compress: a failing source rejects with its error and the sink sees it', async () => {
  const failure = new Error('disk on fire');
  const source = new Readable({
    read() {
      this.push(Buffer.alloc(64 * 1024, 1));
      setTimeout(() => this.destroy(failure), 20);
    },
  });
  let sinkError: unknown;
  await assert.rejects(
    compressLayer(source, async (compressed) => {
      try {
        await pipeline(compressed, new Writable({ write: (_chunk, _encoding, callback) => callback() }));
      } catch (error) {
        sinkError = error;
        throw error;
      }
    }),
    (error: unknown) => error === failure,
  );
  assert.ok(sinkError instanceof Error, 'the sink was torn down too');
});

test('compress: a store path that vanishes mid-layer rejects without hanging', async () => {
  const tmp = await temporaryDirectory('vanish');
  try {
    await assert.rejects(
      compressLayer(packTar(storePathEntries([join(tmp.path, 'missing-store-path')])), async (compressed) => {
        for await (const chunk of compressed) void chunk;
      }),
      /Cannot read .*missing-store-path/,
    );
  } finally {
    await tmp.cleanup();
  }
});
