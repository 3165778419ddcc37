/**
 * End to end: `npm run gc` on the storage of a real origin (filesystem). Two images are built by
 * the origin; 40 days pass (every file's time is set back, as the disk would show it then); one
 * image is pulled again. The dry run lists exactly the other image's blobs that the pulled one
 * does not share; the real run deletes them, the pulled image still pulls whole with skopeo, and
 * the collected one builds again on its next pull.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { startOrigin, FIXTURE_PKGS, type RunningOrigin } from '../../local-stack/origin-process.ts';
import { skopeoCopy, tempDir } from './clients.ts';
import { contentKey, usedMarkerKey } from '../../shared/keys.ts';
import { parseDigest } from '../../shared/digest.ts';
import { FilesystemStorage } from '../../origin/storage/filesystem.ts';
import { recordReferences } from '../../origin/cache/image-cache.ts';

const GC_MAIN = fileURLToPath(new URL('../../origin/gc/main.ts', import.meta.url));
const DAY_MS = 86_400_000;
const OCI = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER = 'application/vnd.docker.distribution.manifest.v2+json';

/** Sets every stored file under `dir` back by `ms` (time passing, as far as the storage can tell). */
async function ageFiles(dir: string, ms: number): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    // Writes in flight (.tmp/, renamed into place when whole) are no stored objects yet.
    if (!entry.isFile() || entry.parentPath.startsWith(join(dir, '.tmp'))) continue;
    const path = join(entry.parentPath, entry.name);
    const then = new Date((await stat(path)).mtimeMs - ms);
    await utimes(path, then, then);
  }
}

/** The content keys every image cache entry in the storage names, by entry. */
async function recordsContent(storage: FilesystemStorage): Promise<Map<string, Set<string>>> {
  const records = new Map<string, Set<string>>();
  for await (const object of storage.list('cache/images/')) {
    const references = recordReferences((await storage.readBytes(object.key))!);
    assert.ok(references, object.key);
    records.set(object.key, new Set([...references.manifests, ...references.blobs].map(contentKey)));
  }
  return records;
}

/** Runs `npm run gc` (origin/gc/main.ts) on this storage path. */
async function runGc(storagePath: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const { stdout, stderr } = await execa(process.execPath, [GC_MAIN, ...args], {
    env: { PATH: process.env['PATH'] ?? '', NIXERY_STORAGE_BACKEND: 'filesystem', STORAGE_PATH: storagePath, NIX_TIMEOUT: '1' },
  });
  return { stdout, stderr };
}

/** Waits until the origin has recorded the pull of this manifest (it writes the marker after answering). */
async function waitForUsedMarker(storage: FilesystemStorage, digest: string): Promise<void> {
  for (let tries = 0; !(await storage.stat(usedMarkerKey(parseDigest(digest)))); tries++) {
    assert.ok(tries < 100, `the origin records the pull of ${digest}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** GETs a manifest by tag from the origin with this Accept; its digest. */
async function pullManifest(origin: RunningOrigin, image: string, accept: string): Promise<string> {
  const response = await fetch(`${origin.url}/v2/${image}/manifests/latest`, { headers: { Accept: accept } });
  assert.equal(response.status, 200, await response.clone().text());
  await response.arrayBuffer();
  return response.headers.get('docker-content-digest') ?? '';
}

describe('npm run gc', () => {
  it('lists exactly the expired image\'s unshared blobs, deletes them, and leaves the used image whole', async () => {
    const storageDir = await tempDir('gc-storage');
    const work = await tempDir('gc-work');
    const storage = new FilesystemStorage(storageDir.path);
    const origin = await startOrigin({ NIXERY_PKGS_PATH: FIXTURE_PKGS, STORAGE_PATH: storageDir.path });
    try {
      // Both pulls recorded before time passes: no write of theirs may land after it.
      await waitForUsedMarker(storage, await pullManifest(origin, 'hello', OCI));
      await waitForUsedMarker(storage, await pullManifest(origin, 'jq', OCI));
      const records = await recordsContent(storage);
      assert.equal(records.size, 2);
      await ageFiles(storageDir.path, 40 * DAY_MS);
      // 40 days later jq is pulled again (the other flavour: this origin touched the first within the hour).
      const used = await pullManifest(origin, 'jq', DOCKER);
      await waitForUsedMarker(storage, used);
      const [jqKey] = [...records].find(([, keys]) => keys.has(contentKey(parseDigest(used)))) ?? [];
      assert.ok(jqKey, 'one entry names the manifest pulled');
      const [helloKey, helloContent] = [...records].find(([key]) => key !== jqKey)!;
      const jqContent = records.get(jqKey)!;
      const unshared = [...helloContent].filter((key) => !jqContent.has(key)).sort();
      assert.ok(unshared.length >= 4 && unshared.length < helloContent.size, `hello has blobs of its own and shares some with jq (${unshared.length} of ${helloContent.size})`);

      const dry = await runGc(storageDir.path, ['--older-than', '30d', '--dry-run']);
      const wouldDelete = (kind: string): string[] =>
        dry.stdout.split('\n').filter((line) => line.startsWith(`would delete  ${kind} `)).map((line) => line.trim().split(/\s+/).at(-3)!).sort();
      assert.deepEqual(wouldDelete('blob'), unshared, dry.stdout);
      assert.deepEqual(wouldDelete('image cache entry'), [helloKey]);
      assert.match(dry.stdout, /^would delete \d+ objects, \d+ bytes: \d+ blobs \(\d+ bytes\)/m);
      assert.ok(await storage.stat(helloKey), 'a dry run deletes nothing');

      const real = await runGc(storageDir.path, ['--older-than', '30d', '--grace', '2s']);
      assert.match(real.stdout, /^deleted \d+ objects/m);
      for (const key of unshared) assert.equal(await storage.stat(key), undefined, `${key} deleted`);
      for (const key of jqContent) assert.ok(await storage.stat(key), `${key} kept`);
      await skopeoCopy(origin.host, 'jq:latest', join(work.path, 'jq'));
      const builtBefore = origin.steps('realise').length;
      await skopeoCopy(origin.host, 'hello:latest', join(work.path, 'hello'));
      assert.equal(origin.steps('realise').length, builtBefore + 1, 'the collected image is built again on its next pull');
    } finally {
      await origin.stop();
      await storageDir.cleanup();
      await work.cleanup();
    }
  });
});
