/** ImageUse on real filesystem storage: markers written when manifests are served, at most once per interval. */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { digestFromHex } from '../../shared/digest.ts';
import { STORAGE_PREFIXES, usedMarkerKey } from '../../shared/keys.ts';
import { FilesystemStorage } from '../storage/filesystem.ts';
import type { Storage } from '../storage/storage.ts';
import { ImageUse } from './image-use.ts';

const logger = pino({ level: 'silent' });
const A = digestFromHex('a'.repeat(64));
const B = digestFromHex('b'.repeat(64));

/** The filesystem storage, counting the markers written through it. */
function counting(storage: Storage): { storage: Storage; writes: string[] } {
  const writes: string[] = [];
  return {
    writes,
    storage: new Proxy(storage, {
      get(target, property, receiver) {
        if (property === 'writeBytes') {
          return (key: string, data: Uint8Array) => {
            writes.push(key);
            return target.writeBytes(key, data);
          };
        }
        return Reflect.get(target, property, receiver) as unknown;
      },
    }),
  };
}

describe('ImageUse', () => {
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'nixedge-image-use-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('writes one marker per manifest, then none again within the interval', async () => {
    const { storage, writes } = counting(new FilesystemStorage(join(root, 'once')));
    const use = new ImageUse(storage, logger);
    use.touch([A, B, A]);
    use.touch([A]);
    await use.drain();
    assert.deepEqual(writes.sort(), [usedMarkerKey(A), usedMarkerKey(B)]);
    const listed: string[] = [];
    for await (const object of storage.list(STORAGE_PREFIXES.used)) listed.push(object.key);
    assert.deepEqual(listed.sort(), [usedMarkerKey(A), usedMarkerKey(B)]);
  });

  it('writes the marker again once the interval has passed, moving its last write on', async () => {
    const backend = new FilesystemStorage(join(root, 'again'));
    const { storage, writes } = counting(backend);
    const use = new ImageUse(storage, logger, { intervalMs: 50 });
    use.touch([A]);
    await use.drain();
    const first = (await backend.list(STORAGE_PREFIXES.used)[Symbol.asyncIterator]().next()).value;
    await new Promise((resolve) => setTimeout(resolve, 80));
    use.touch([A]);
    await use.drain();
    const second = (await backend.list(STORAGE_PREFIXES.used)[Symbol.asyncIterator]().next()).value;
    assert.equal(writes.length, 2);
    assert.ok(first && second && second.lastModified > first.lastModified);
  });

  it('a failed touch is not a failure of the pull, and is tried again by the next one', async () => {
    const file = join(root, 'not-a-directory');
    await writeFile(file, 'x'); // a file where the storage root should be: every write fails
    const use = new ImageUse(new FilesystemStorage(file), logger);
    use.touch([A]);
    await use.drain();
    await rm(file);
    use.touch([A]);
    await use.drain();
    assert.ok(await new FilesystemStorage(file).stat(usedMarkerKey(A)));
  });
});
