// In its own file so the process (and its RSS) belongs to this test alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { compressLayer } from './compress.ts';
import { packTar } from './pack.ts';
import { storePathEntries } from './store-paths.ts';
import { run, temporaryDirectory } from './testing.ts';

const FILE_SIZE = 300 * 1024 * 1024;
const MAX_GROWTH = 100 * 1024 * 1024;

test('memory: packing and compressing a 300 MB file stays within ~100 MB of RSS growth', async (t) => {
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
      const digests = await compressLayer(packTar(storePathEntries([pkg])), async (compressed) => {
        for await (const chunk of compressed) {
          consumed += (chunk as Buffer).length;
          sample();
        }
      });
      assert.equal(digests.size, consumed);
    } finally {
      clearInterval(timer);
    }
    const growth = peak - before;
    t.diagnostic(`RSS growth ${Math.round(growth / 1024 / 1024)} MB for a ${FILE_SIZE / 1024 / 1024} MB file`);
    assert.ok(growth < MAX_GROWTH, `RSS grew by ${Math.round(growth / 1024 / 1024)} MB`);
  } finally {
    await tmp.cleanup();
  }
});
