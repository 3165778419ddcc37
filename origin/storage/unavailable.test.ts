/**
 * Storage failures surface as 503 UNAVAILABLE: the wrapper keeps every backend's semantics (it
 * passes the conformance suite around the filesystem backend) and turns outages into registry
 * errors, while data errors and invalid keys stay what they are.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { RegistryError } from '../../shared/errors.ts';
import { FilesystemStorage } from './filesystem.ts';
import { runStorageConformance } from './conformance.ts';
import { withUnavailableErrors } from './unavailable.ts';
import type { Storage } from './storage.ts';

runStorageConformance('filesystem behind withUnavailableErrors', async () => {
  const root = await mkdtemp(join(tmpdir(), 'nixedge-unavailable-'));
  return { storage: withUnavailableErrors(new FilesystemStorage(root)), cleanup: () => rm(root, { recursive: true, force: true }) };
});

/** A backend whose every call fails as a network outage would (a stand-in: no server to stop here). */
function downStorage(): Storage {
  const down = async (): Promise<never> => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
  };
  return {
    name: 'down',
    stat: down,
    read: down,
    readBytes: down,
    writeBytes: down,
    move: down,
    delete: down,
    writeStream: async (_key, body) => {
      body.resume();
      return down();
    },
  };
}

describe('withUnavailableErrors', () => {
  it('turns every failing operation into 503 UNAVAILABLE with Retry-After, keeping the cause', async () => {
    const storage = withUnavailableErrors(downStorage());
    const operations: [string, () => Promise<unknown>][] = [
      ['stat', () => storage.stat('layers/a')],
      ['read', () => storage.read('layers/a')],
      ['readBytes', () => storage.readBytes('layers/a')],
      ['writeBytes', () => storage.writeBytes('layers/a', new Uint8Array([1]))],
      ['move', () => storage.move('staging/a', 'layers/a')],
      ['delete', () => storage.delete('layers/a')],
      ['writeStream', () => storage.writeStream('layers/a', Readable.from([Buffer.from('x')]))],
    ];
    for (const [operation, run] of operations) {
      await assert.rejects(run, (error: unknown) => {
        assert.ok(error instanceof RegistryError, operation);
        assert.equal(error.code, 'UNAVAILABLE');
        assert.equal(error.status, 503);
        assert.equal(error.headers['Retry-After'], '30');
        assert.match(String((error.cause as Error).message), /ECONNREFUSED/);
        return true;
      });
    }
  });

  it('lets a failing source stream and an invalid key through unchanged', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nixedge-unavailable-'));
    try {
      const storage = withUnavailableErrors(new FilesystemStorage(root));
      const broken = new Error('store path vanished');
      const source = new Readable({
        read() {
          this.destroy(broken);
        },
      });
      await assert.rejects(storage.writeStream('layers/b', source), (error: unknown) => !(error instanceof RegistryError));
      await assert.rejects(storage.stat('../escape'), (error: unknown) => !(error instanceof RegistryError));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
