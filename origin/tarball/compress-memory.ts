/** The memory test of compressLayer, run by one test file per codec (each process its own RSS). */

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { LayerCompression } from '../../shared/media-types.ts';
import { compressLayer } from './compress.ts';
import { packTar } from './pack.ts';
import { storePathEntries } from './store-paths.ts';
import { run, temporaryDirectory } from './testing.ts';

const FILE_SIZE = 300 * 1024 * 1024;
const MAX_GROWTH = 100 * 1024 * 1024;

/** Packs and compresses a 300 MB (sparse) file, asserting the RSS grows by less than ~100 MB. */
export async function assertBoundedMemory(t: TestContext, compression: LayerCompression): Promise<void> {
  const tmp = await temporaryDirectory('memory');
  try {
    const pkg = join(tmp.path, 'mmmm-sparse');
    await mkdir(pkg);
    await run('truncate', ['-s', String(FILE_SIZE), join(pkg, 'sparse')]);

    const before = process.memoryUsage().rss;
    let peak = before;
    const sample = (): void => {
      peak = Math.max(peak, process.memoryUsage().rss);
    };
    const timer = setInterval(sample, 5);
    let consumed = 0;
    try {
      const digests = await compressLayer(
        packTar(storePathEntries([pkg])),
        async (compressed) => {
          for await (const chunk of compressed) {
            consumed += (chunk as Buffer).length;
            sample();
          }
        },
        { compression },
      );
      assert.equal(digests.size, consumed);
    } finally {
      clearInterval(timer);
    }
    const growth = peak - before;
    t.diagnostic(`${compression}: RSS growth ${Math.round(growth / 1024 / 1024)} MB for a ${FILE_SIZE / 1024 / 1024} MB file`);
    assert.ok(growth < MAX_GROWTH, `RSS grew by ${Math.round(growth / 1024 / 1024)} MB`);
  } finally {
    await tmp.cleanup();
  }
}
