/**
 * Storage failures with a kind: the wrapper keeps every backend's semantics (it passes the
 * conformance suite around the filesystem backend), turns each failure into a StorageError of the
 * backend's kind, and the registry answers only "unavailable" with a retryable 503. Data errors
 * and invalid keys stay what they are. (Each backend's own kinds are checked against its real
 * server by runStorageFailureConformance in its test file.)
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FilesystemStorage } from './filesystem.ts';
import { runStorageConformance } from './conformance.ts';
import { StorageError, storageRegistryError, withStorageErrors, type StorageBackend, type StorageErrorKind } from './storage-error.ts';

runStorageConformance('filesystem behind withStorageErrors', async () => {
  const root = await mkdtemp(join(tmpdir(), 'nixedge-storage-errors-'));
  return { storage: withStorageErrors(new FilesystemStorage(root)), cleanup: () => rm(root, { recursive: true, force: true }) };
});

/** A stand-in backend whose every call fails with `error` (no server to break here), classified as `kind`. */
function failingBackend(error: Error, kind: StorageErrorKind): StorageBackend {
  const fail = async (): Promise<never> => {
    throw error;
  };
  return {
    name: 'stand-in',
    classify: (thrown) => (thrown === error ? kind : undefined),
    stat: fail,
    read: fail,
    readBytes: fail,
    writeBytes: fail,
    move: fail,
    delete: fail,
    // eslint-disable-next-line require-yield
    list: async function* () {
      throw error;
    },
    writeStream: async (_key, body) => {
      body.resume();
      return fail();
    },
  };
}

describe('withStorageErrors', () => {
  it('turns every failing operation into a StorageError of the backend\'s kind, keeping the cause', async () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const storage = withStorageErrors(failingBackend(cause, 'unavailable'));
    const operations: [string, () => Promise<unknown>][] = [
      ['stat', () => storage.stat('layers/a')],
      ['read', () => storage.read('layers/a')],
      ['readBytes', () => storage.readBytes('layers/a')],
      ['writeBytes', () => storage.writeBytes('layers/a', new Uint8Array([1]))],
      ['move', () => storage.move('staging/a', 'layers/a')],
      ['delete', () => storage.delete('layers/a')],
      ['writeStream', () => storage.writeStream('layers/a', Readable.from([Buffer.from('x')]))],
      ['list', async () => {
        for await (const object of storage.list('layers/')) assert.fail(`Expected no object, got ${object.key}`);
      }],
    ];
    for (const [operation, run] of operations) {
      await assert.rejects(run, (error: unknown) => {
        assert.ok(error instanceof StorageError, operation);
        assert.equal(error.kind, 'unavailable');
        assert.equal(error.operation, operation);
        assert.equal(error.cause, cause);
        return true;
      });
    }
  });

  it('lets a failing source stream, an invalid key and an error the backend does not claim through unchanged', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nixedge-storage-errors-'));
    try {
      const storage = withStorageErrors(new FilesystemStorage(root));
      const broken = new Error('store path vanished');
      const source = new Readable({
        read() {
          this.destroy(broken);
        },
      });
      await assert.rejects(storage.writeStream('layers/b', source), (error: unknown) => error === broken);
      await assert.rejects(storage.stat('../escape'), (error: unknown) => !(error instanceof StorageError) && /relative|segments/.test(String(error)));
      // An error the backend does not classify (a bug, not the store) stays what it is.
      const unclaimed = new Error('a bug, not the store');
      const backend = { ...failingBackend(unclaimed, 'denied'), classify: () => undefined };
      await assert.rejects(withStorageErrors(backend).stat('layers/x'), (error: unknown) => error === unclaimed);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('the registry answer to each kind', () => {
  it('unavailable is 503 UNAVAILABLE with Retry-After; every other kind is 500 and not worth retrying', () => {
    const cause = new Error('backend detail with a secret-looking token abc123');
    const unavailable = storageRegistryError(new StorageError('unavailable', 's3', 'stat', cause));
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.code, 'UNAVAILABLE');
    assert.equal(unavailable.headers['Retry-After'], '30');
    for (const kind of ['not-found', 'denied', 'misconfigured'] as const) {
      const error = storageRegistryError(new StorageError(kind, 's3', 'writeBytes', cause));
      assert.equal(error.status, 500, kind);
      assert.equal(error.code, 'UNKNOWN', kind);
      assert.equal(error.headers['Retry-After'], undefined, `${kind}: no Retry-After`);
      assert.doesNotMatch(error.message, /abc123/, `${kind}: the backend's detail stays in the log`);
    }
  });
});
