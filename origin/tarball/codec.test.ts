import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { zstdDecompressSync } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { compressLayer, compressorInput, type CompressOptions } from './compress.ts';
import { codecId, createCompressor } from './codec.ts';
import { packTar } from './pack.ts';
import { storePathEntries } from './store-paths.ts';
import { collect, run, sha256sum, temporaryDirectory } from './testing.ts';

/** A store path whose tar compresses like software: text, repeats, and incompressible bytes. */
async function fakeStorePath(root: string): Promise<string> {
  const pkg = join(root, 'z3b2z9y8x7w6v5u4t3s2r1q0p9o8n7m6-mixed');
  await mkdir(join(pkg, 'share'), { recursive: true });
  await writeFile(join(pkg, 'share', 'words'), Array.from({ length: 200_000 }, (_, i) => `word-${(i * 7919) % 10007}`).join('\n'));
  let state = 12345;
  const noise = Buffer.alloc(1_500_000);
  for (let i = 0; i < noise.length; i++) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    noise[i] = i % 3 === 0 ? state & 0xff : 0x41 + (i % 7);
  }
  await writeFile(join(pkg, 'share', 'noise'), noise);
  return pkg;
}

/** The blob compressLayer makes of `tar`, with its digests. */
async function compressToBuffer(tar: Readable, options: CompressOptions): Promise<{ blob: Buffer; digest: string; diffId: string; size: number }> {
  let blob: Buffer = Buffer.alloc(0);
  const digests = await compressLayer(tar, async (compressed) => {
    blob = await collect(compressed);
  }, options);
  return { blob, ...digests };
}

/** A deterministic pseudo-random generator (sizes and delays of the adversarial sources). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

/**
 * The tar's bytes as a stream of pieces of `size()` bytes; with `pause`, some pieces wait a
 * moment first, so the compressor sees its input arrive at other times.
 */
function piecewise(tar: Buffer, size: () => number, pause?: () => number): Readable {
  return Readable.from(
    (async function* () {
      for (let offset = 0; offset < tar.length; ) {
        const length = Math.max(1, Math.min(size(), tar.length - offset));
        const wait = pause?.() ?? 0;
        if (wait > 0) await sleep(wait);
        yield tar.subarray(offset, offset + length);
        offset += length;
      }
    })(),
    { objectMode: false },
  );
}

test('zstd: the blob is one zstd frame the zstd tool reads; digest and diffId are the sha256 of blob and tar', async () => {
  const tmp = await temporaryDirectory('zstd');
  try {
    const pkg = await fakeStorePath(tmp.path);
    const tar = await collect(packTar(storePathEntries([pkg])));
    const { blob, digest, diffId, size } = await compressToBuffer(packTar(storePathEntries([pkg])), { compression: 'zstd' });
    const file = join(tmp.path, 'layer.tar.zst');
    await writeFile(file, blob);
    assert.equal(digest, `sha256:${await sha256sum(file)}`);
    assert.equal(size, blob.length);
    // The zstd tool (Debian's libzstd, not Node's) decompresses it and checks its checksum.
    const decompressed = await run('zstd', ['-d', '-c', '--check', file]);
    assert.equal(`sha256:${createHash('sha256').update(decompressed).digest('hex')}`, diffId);
    assert.ok(decompressed.equals(tar), 'the blob holds exactly the tar');
    assert.ok(zstdDecompressSync(blob).equals(tar));
    // Magic number, then the frame header descriptor: checksum flag, no content size, no dictionary.
    assert.deepEqual([...blob.subarray(0, 5)], [0x28, 0xb5, 0x2f, 0xfd, 0x04]);
    const listing = (await run('zstd', ['-lv', file])).toString();
    assert.match(listing, /# Zstandard Frames: 1\b/);
    assert.match(listing, /Check: XXH64/);
    assert.ok(blob.length < tar.length * 0.8, `compressed (${blob.length} of ${tar.length} bytes)`);
  } finally {
    await tmp.cleanup();
  }
});

test('zstd: the same tar gives the same blob however it is split into writes and whenever they come', async () => {
  const tmp = await temporaryDirectory('zstd-determinism');
  try {
    const pkg = await fakeStorePath(tmp.path);
    const tar = await collect(packTar(storePathEntries([pkg])));
    assert.ok(tar.length > 3_000_000, 'several zstd blocks and several compressor writes');
    const reference = await compressToBuffer(packTar(storePathEntries([pkg])), { compression: 'zstd' });
    const next = random(42);
    const sources: Array<[string, () => Readable]> = [
      ['one piece', () => piecewise(tar, () => tar.length)],
      ['128 KiB pieces', () => piecewise(tar, () => 128 * 1024)],
      ['pieces of 1 byte to 4 KiB (coalesced)', () => piecewise(tar, () => 1 + Math.floor(next() * 4096))],
      ['pieces of 128 KiB to 1 MiB (passed on as they are)', () => piecewise(tar, () => 128 * 1024 + Math.floor(next() * 900_000))],
      ['pieces at random moments', () => piecewise(tar, () => 1 + Math.floor(next() * 400_000), () => (next() < 0.3 ? Math.floor(next() * 15) : 0))],
      ['a last piece of 1 byte', () => piecewise(tar, () => (tar.length > 1 ? tar.length - 1 : 1))],
    ];
    for (const [what, source] of sources) {
      const again = await compressToBuffer(source(), { compression: 'zstd' });
      assert.equal(again.digest, reference.digest, what);
      assert.equal(again.diffId, reference.diffId, what);
    }
  } finally {
    await tmp.cleanup();
  }
});

test('zstd: the compressor input gives the same frame for small writes queued as the stream ends', async () => {
  // compressLayer coalesces its writes to 128 KiB; here pieces of a few KiB reach the compressor
  // while earlier ones are still being compressed, the case where zlib would end the frame with
  // the last queued piece (other bytes) unless the input waits for every piece first.
  const tmp = await temporaryDirectory('zstd-input');
  try {
    const pkg = await fakeStorePath(tmp.path);
    const tar = await collect(packTar(storePathEntries([pkg])));
    const reference = await compressToBuffer(packTar(storePathEntries([pkg])), { compression: 'zstd' });
    const next = random(7);
    for (const [what, size] of [
      ['pieces of 1 byte to 4 KiB', () => 1 + Math.floor(next() * 4096)],
      ['pieces of 1 to 12 KiB', () => 1024 + Math.floor(next() * 11 * 1024)],
      ['pieces of 3 KiB', () => 3 * 1024],
    ] as const) {
      const { stream } = createCompressor({ compression: 'zstd', level: 3 });
      const output = collect(stream);
      await pipeline(piecewise(tar, size), compressorInput(stream, () => undefined));
      const blob = await output;
      assert.equal(`sha256:${createHash('sha256').update(blob).digest('hex')}`, reference.digest, what);
    }
  } finally {
    await tmp.cleanup();
  }
});

test('zstd: the level is respected and bounded; the codec id names compression and level', async () => {
  const tmp = await temporaryDirectory('zstd-level');
  try {
    const pkg = await fakeStorePath(tmp.path);
    const sizes = new Map<number, number>();
    for (const level of [1, 3, 19]) {
      const { blob, size } = await compressToBuffer(packTar(storePathEntries([pkg])), { compression: 'zstd', level });
      assert.equal(size, blob.length);
      sizes.set(level, size);
    }
    const size = (level: number) => sizes.get(level) ?? assert.fail(`no result for level ${level}`);
    assert.notEqual(size(1), size(3), 'levels 1 and 3 give other blobs');
    assert.ok(size(19) < Math.min(size(1), size(3)), `level 19 (${size(19)}) compresses more than levels 1 (${size(1)}) and 3 (${size(3)})`);
    const defaulted = await compressToBuffer(packTar(storePathEntries([pkg])), { compression: 'zstd' });
    assert.equal(defaulted.size, size(3), 'zstd defaults to level 3');
    for (const level of [0, 20, 2.5]) {
      await assert.rejects(compressLayer(Readable.from([]), async () => undefined, { compression: 'zstd', level }), RangeError);
    }
    assert.equal(codecId({ compression: 'zstd', level: 3 }), 'zstd-3');
    assert.equal(codecId({ compression: 'gzip', level: 6 }), 'gzip-6');
  } finally {
    await tmp.cleanup();
  }
});

test('zstd and gzip of one tar: other blobs, the same diffId', async () => {
  const tmp = await temporaryDirectory('codecs');
  try {
    const pkg = await fakeStorePath(tmp.path);
    const gzip = await compressToBuffer(packTar(storePathEntries([pkg])), {});
    const zstd = await compressToBuffer(packTar(storePathEntries([pkg])), { compression: 'zstd' });
    assert.notEqual(gzip.digest, zstd.digest);
    assert.equal(gzip.diffId, zstd.diffId);
    assert.deepEqual([...gzip.blob.subarray(0, 2)], [0x1f, 0x8b]);
  } finally {
    await tmp.cleanup();
  }
});
