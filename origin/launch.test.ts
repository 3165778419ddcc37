/**
 * `npm run origin` (how operators run the origin) starts Node with the same flags as the local
 * stack that `npm start`, the end-to-end tests and the benchmarks use, so what they measure is
 * what runs in production.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ORIGIN_NODE_FLAGS } from '../local-stack/origin-process.ts';

describe('npm run origin', () => {
  it('runs origin/main.ts with the Node flags of the local stack', async () => {
    const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(manifest.scripts['origin'], `node ${ORIGIN_NODE_FLAGS.join(' ')} origin/main.ts`);
  });
});
