import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { execa } from 'execa';
import { runStorageConformance, runStorageFailureConformance } from './conformance.ts';
import { runBucketGcSuite } from '../gc/gc.cases.ts';
import { FilesystemStorage, STALE_TEMP_AGE_MS, TEMP_DIR } from './filesystem.ts';
import { assertValidKey } from './keys-guard.ts';

runStorageConformance('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'nixedge-fs-storage-'));
  return {
    storage: new FilesystemStorage(root),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

runBucketGcSuite('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'nixedge-fs-gc-'));
  return { storage: new FilesystemStorage(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

runStorageFailureConformance('filesystem', {
  // A read-only file system (root bypasses permission bits, not a read-only mount): EROFS.
  denied: async () => {
    const root = await mkdtemp(join(tmpdir(), 'nixedge-fs-readonly-'));
    await execa('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', root]);
    return {
      storage: new FilesystemStorage(root),
      cleanup: async () => {
        await execa('umount', [root]);
        await rm(root, { recursive: true, force: true });
      },
    };
  },
  // (No "not-found": a root that vanished is created again by the next write.)
});

describe('FilesystemStorage', () => {
  let root = '';
  let storage: FilesystemStorage;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'nixedge-fs-storage-'));
    storage = new FilesystemStorage(root);
  });
  after(() => rm(root, { recursive: true, force: true }));

  const tempFiles = async (): Promise<string[]> => readdir(join(root, TEMP_DIR)).catch(() => []);

  describe('key validation', () => {
    const invalid: [string, RegExp][] = [
      ['../x', /"\.\."/],
      ['a/../../x', /"\.\."/],
      ['/abs', /absolute/],
      ['a//b', /""/],
      ['a/./b', /"\."/],
      ['.', /"\."/],
      ['a/', /""/],
      ['', /non-empty/],
      ['a\\b', /backslash/],
      ['a\u0000b', /control/],
      ['x'.repeat(1025), /at most 1024 bytes/],
      ['é'.repeat(513), /at most 1024 bytes/],
      [`${TEMP_DIR}/x`, /reserved/],
      [TEMP_DIR, /reserved/],
    ];
    for (const [key, message] of invalid) {
      it(`rejects ${JSON.stringify(key.length > 20 ? `${key.slice(0, 20)}...` : key)} in every method`, async () => {
        await assert.rejects(storage.stat(key), message);
        await assert.rejects(storage.read(key), message);
        await assert.rejects(storage.readBytes(key), message);
        await assert.rejects(storage.writeBytes(key, Buffer.from('x')), message);
        await assert.rejects(storage.writeStream(key, Readable.from([Buffer.from('x')])), message);
        await assert.rejects(storage.move(key, 'layers/ok'), message);
        await assert.rejects(storage.move('layers/ok', key), message);
        await assert.rejects(storage.delete(key), message);
      });
    }

    it('accepts the keys shared/keys.ts builds, and 1024-byte keys', () => {
      for (const key of ['layers/' + 'a'.repeat(64), 'cache/layers/b', 'cache/images/c', 'staging/d-1', 'x'.repeat(1024), '.hidden/x..y']) {
        assertValidKey(key);
      }
    });

    it('never touches anything outside the root', async () => {
      const outside = join(root, '..', `${root.split('/').pop()}-outside`);
      await assert.rejects(storage.writeBytes(`../${root.split('/').pop()}-outside`, Buffer.from('x')));
      await assert.rejects(stat(outside), { code: 'ENOENT' });
    });
  });

  describe('layout', () => {
    it('stores the object at key k as the file <root>/k (the Nixery bucket layout)', async () => {
      await storage.writeBytes('layers/0123abcd', Buffer.from('blob'));
      assert.equal(await readFile(join(root, 'layers', '0123abcd'), 'utf8'), 'blob');
    });

    it('serves files placed in the root by hand (an existing Nixery directory)', async () => {
      await mkdir(join(root, 'layers'), { recursive: true });
      await writeFile(join(root, 'layers', 'fromnixery'), 'nixery layer');
      assert.deepEqual(await storage.stat('layers/fromnixery'), { size: 12 });
      assert.equal((await storage.readBytes('layers/fromnixery'))?.toString(), 'nixery layer');
    });
  });

  describe('temp files', () => {
    it('leaves no temp file after successful writes', async () => {
      await storage.writeBytes('layers/t1', Buffer.from('x'));
      await storage.writeStream('layers/t2', Readable.from([Buffer.from('y')]));
      assert.deepEqual(await tempFiles(), []);
    });

    it('leaves no temp file after a failed writeStream', async () => {
      const boom = new Error('boom');
      async function* failing(): AsyncGenerator<Buffer> {
        yield Buffer.alloc(1024 * 1024, 1);
        throw boom;
      }
      await assert.rejects(storage.writeStream('layers/t3', Readable.from(failing())), boom);
      assert.deepEqual(await tempFiles(), []);
      assert.equal(await storage.stat('layers/t3'), undefined);
    });

    it('leaves no temp file when the source fails before its first byte', async () => {
      const boom = new Error('boom at once');
      async function* failing(): AsyncGenerator<Buffer> {
        yield* [];
        throw boom;
      }
      for (let i = 0; i < 20; i++) {
        await assert.rejects(storage.writeStream(`layers/t4-${i}`, Readable.from(failing())), boom);
      }
      assert.deepEqual(await tempFiles(), []);
    });

    it('leaves no temp file when the rename fails (a directory holds the key), and says why', async () => {
      await storage.writeBytes('cache/dir/inner', Buffer.from('x'));
      await assert.rejects(storage.writeBytes('cache/dir', Buffer.from('y')), /Expected no other keys under "cache\/dir"/);
      await assert.rejects(storage.writeStream('cache/dir', Readable.from([Buffer.from('y')])), /Expected no other keys/);
      assert.deepEqual(await tempFiles(), []);
    });

    it('leaves no temp file when an object blocks a parent directory, and says why', async () => {
      await storage.writeBytes('cache/file', Buffer.from('x'));
      await assert.rejects(storage.writeBytes('cache/file/inner', Buffer.from('y')), /Expected no object at a parent of "cache\/file\/inner"/);
      assert.deepEqual(await tempFiles(), []);
    });

    it('sweepStaleTemp removes temp files older than an hour and keeps fresh ones', async () => {
      const tempDir = join(root, TEMP_DIR);
      await mkdir(tempDir, { recursive: true });
      const old = new Date(Date.now() - STALE_TEMP_AGE_MS - 60_000);
      await writeFile(join(tempDir, 'crashed-1'), 'partial');
      await writeFile(join(tempDir, 'crashed-2'), 'partial');
      await utimes(join(tempDir, 'crashed-1'), old, old);
      await utimes(join(tempDir, 'crashed-2'), old, old);
      await writeFile(join(tempDir, 'in-flight'), 'partial');
      assert.equal(await storage.sweepStaleTemp(), 2);
      assert.deepEqual(await tempFiles(), ['in-flight']);
      await rm(join(tempDir, 'in-flight'));
    });

    it('sweepStaleTemp on a root that was never written to removes nothing', async () => {
      const fresh = new FilesystemStorage(join(root, 'never-used'));
      assert.equal(await fresh.sweepStaleTemp(), 0);
    });
  });

  describe('move', () => {
    it('rejects with a clear error for a missing source', async () => {
      await assert.rejects(storage.move('staging/none', 'layers/none'), /Expected an object at "staging\/none" to move to "layers\/none", got none/);
    });

    it('refuses to move a directory (a key prefix is not an object)', async () => {
      await storage.writeBytes('staging/dir/inner', Buffer.from('x'));
      await assert.rejects(storage.move('staging/dir', 'layers/dir'), /Expected an object at "staging\/dir"/);
      assert.deepEqual(await storage.stat('staging/dir/inner'), { size: 1 });
    });
  });

  it('rejects an empty root', () => {
    assert.throws(() => new FilesystemStorage(''), /Expected a storage root directory/);
  });
});
