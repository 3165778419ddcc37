/**
 * Bucket GC against a real storage backend, run by each backend's test file beside the storage
 * conformance suite (filesystem, wrangler's local R2, the GCS emulator). Images are published
 * with the origin's own code (layer and image caches, manifests); "old" is real time: objects
 * written before a whole-second cutoff, then more after it (object stores report whole seconds).
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { pino } from 'pino';

import { sha256Digest } from '../../shared/digest.ts';
import { contentKey, imageCacheKey, layerCacheKey, stagingKey, usedMarkerKey } from '../../shared/keys.ts';
import { storeBlob } from '../builder/upload-layer.ts';
import { ImageCache, imageRecord, type ImageRecord } from '../cache/image-cache.ts';
import { ImageUse } from '../cache/image-use.ts';
import { LayerCache } from '../cache/layer-cache.ts';
import { buildImage, type LayerDescriptor } from '../image/manifest.ts';
import { listAll, type StorageUnderTest } from '../storage/conformance.ts';
import type { Storage } from '../storage/storage.ts';
import { collectGarbage, type CollectOptions } from './collect.ts';
import { UnsafeCollectionError } from './plan.ts';

const DAY_MS = 86_400_000;
const logger = pino({ level: 'silent' });

/** A layer: its store paths (the layer cache key) and its bytes. */
interface TestLayer {
  paths: string[];
  bytes: Buffer;
}

/** A fresh layer of `size` random bytes for these store paths. */
function layer(name: string, size = 3000): TestLayer {
  return { paths: [`/nix/store/${'0'.repeat(32)}-${name}`], bytes: randomBytes(size) };
}

/** An image as the builder publishes it: layers (and their cache entries), config, manifests, then the entry. */
async function publish(storage: Storage, name: string, layers: readonly TestLayer[]): Promise<{ key: string; record: ImageRecord }> {
  const layerCache = new LayerCache(storage, 'gzip-6');
  const descriptors: LayerDescriptor[] = [];
  for (const { paths, bytes } of layers) {
    const cached = await layerCache.get(paths);
    if (cached) {
      descriptors.push(cached);
      continue;
    }
    const digest = await sha256Digest(bytes);
    const descriptor = { digest, diffId: digest, size: bytes.length };
    await storeBlob(storage, digest, bytes);
    await layerCache.put(paths, descriptor);
    descriptors.push(descriptor);
  }
  const image = await buildImage({ system: 'x86_64-linux', layers: descriptors, env: [`IMAGE=${name}`], cmd: undefined });
  await storeBlob(storage, image.config.digest, image.config.bytes);
  for (const manifest of Object.values(image.manifests)) await storeBlob(storage, manifest.digest, manifest.bytes);
  const record = imageRecord(image, descriptors);
  const key = (await sha256Digest(name)).slice('sha256:'.length);
  await new ImageCache(storage).put(key, record);
  return { key, record };
}

/** Every content key an image's record names (manifests, config, layers). */
function contentKeys(record: ImageRecord): string[] {
  return [...record.documents.map((document) => contentKey(document.digest)), ...record.blobs.map((blob) => contentKey(blob.digest))];
}

/** A whole-second cutoff after everything written so far; resolves once it has passed. */
async function passCutoff(): Promise<number> {
  const cutoff = Math.ceil((Date.now() + 1) / 1000) * 1000;
  await new Promise((resolve) => setTimeout(resolve, cutoff - Date.now() + 50));
  return cutoff;
}

/** Every key in the storage. */
async function keys(storage: Storage): Promise<Set<string>> {
  return new Set((await listAll(storage, '')).keys());
}

/** GC options for a test: this cutoff, staging from a day before it, no grace. */
function options(storage: Storage, cutoff: number, extra: Partial<CollectOptions> = {}): CollectOptions {
  return { storage, cutoff, stagingCutoff: cutoff - DAY_MS, graceMs: 0, dryRun: false, wait: async () => undefined, ...extra };
}

/** Registers the bucket GC tests for one backend; each test gets a fresh storage. */
export function runBucketGcSuite(backend: string, makeStorage: () => Promise<StorageUnderTest>): void {
  const test = (name: string, body: (storage: Storage) => Promise<void>): void => {
    it(name, async () => {
      const sut = await makeStorage();
      try {
        await body(sut.storage);
      } finally {
        await sut.cleanup();
      }
    });
  };

  describe(`bucket gc: ${backend}`, () => {
    test('deletes what only images unused since the cutoff name; keeps all a used image names, shared layers too', async (storage) => {
      const shared = layer('shared');
      const old = await publish(storage, 'old', [shared, layer('old-only')]);
      await storage.writeBytes('layers/not-a-digest', Buffer.from('someone else\'s object')); // never judged
      const cutoff = await passCutoff();
      const fresh = await publish(storage, 'fresh', [shared, layer('fresh-only')]);
      const before = await keys(storage);

      const report = await collectGarbage(options(storage, cutoff));
      const after = await keys(storage);
      const onlyOld = contentKeys(old.record).filter((key) => !contentKeys(fresh.record).includes(key));
      assert.equal(onlyOld.length, 4, 'two manifests, a config, a layer are the old image\'s alone');
      // (a layer cache key depends only on the layer's store paths)
      const expectedGone = [...onlyOld, imageCacheKey(old.key), layerCacheKey(await new LayerCache(storage, 'gzip-6').keyFor(layer('old-only').paths))];
      assert.deepEqual([...before].filter((key) => !after.has(key)).sort(), expectedGone.sort());
      assert.deepEqual(report.collected.map((object) => object.key).sort(), expectedGone.sort());
      for (const key of [...contentKeys(fresh.record), imageCacheKey(fresh.key), 'layers/not-a-digest']) assert.ok(after.has(key), `kept ${key}`);
      assert.equal(report.liveImages, 1);
      const blobBytes = report.collected.filter((object) => object.kind === 'blob').reduce((sum, object) => sum + object.size, 0);
      const expectedBytes = old.record.blobs.filter((blob) => onlyOld.includes(contentKey(blob.digest))).reduce((sum, blob) => sum + blob.size, 0) +
        old.record.documents.reduce((sum, document) => sum + Buffer.byteLength(document.body), 0);
      assert.equal(blobBytes, expectedBytes, 'the bytes reported are the blobs\' sizes');
    });

    test('an image pulled since the cutoff stays, however old its entry', async (storage) => {
      const pulled = await publish(storage, 'pulled', [layer('pulled')]);
      const forgotten = await publish(storage, 'forgotten', [layer('forgotten')]);
      const cutoff = await passCutoff();
      const use = new ImageUse(storage, logger);
      use.touch([pulled.record.manifests.docker.digest]);
      await use.drain();
      await collectGarbage(options(storage, cutoff));
      const after = await keys(storage);
      for (const key of [...contentKeys(pulled.record), imageCacheKey(pulled.key), usedMarkerKey(pulled.record.manifests.docker.digest)]) assert.ok(after.has(key), `kept ${key}`);
      for (const key of [...contentKeys(forgotten.record), imageCacheKey(forgotten.key)]) assert.ok(!after.has(key), `deleted ${key}`);
    });

    test('a manifest served by digest since the cutoff keeps what it names, with no image cache entry naming it', async (storage) => {
      const image = await publish(storage, 'by-digest', [layer('by-digest')]);
      await storage.delete(imageCacheKey(image.key));
      const cutoff = await passCutoff();
      const use = new ImageUse(storage, logger);
      use.touch([image.record.manifests.oci.digest]);
      await use.drain();
      await collectGarbage(options(storage, cutoff));
      const after = await keys(storage);
      for (const blob of image.record.blobs) assert.ok(after.has(contentKey(blob.digest)), `kept ${blob.digest}`);
      assert.ok(after.has(contentKey(image.record.manifests.oci.digest)), 'kept the manifest served');
      assert.ok(!after.has(contentKey(image.record.manifests.docker.digest)), 'the other flavour, unused, goes');
    });

    test('a dry run deletes nothing and reports exactly what the run then deletes', async (storage) => {
      const shared = layer('shared');
      await publish(storage, 'old', [shared, layer('old-only')]);
      await storage.writeBytes(stagingKey('crashed-upload'), Buffer.alloc(100));
      const cutoff = await passCutoff();
      await publish(storage, 'fresh', [shared]);
      const before = await keys(storage);
      const dry = await collectGarbage(options(storage, cutoff, { dryRun: true, stagingCutoff: cutoff }));
      assert.deepEqual(await keys(storage), before, 'a dry run deletes nothing');
      const real = await collectGarbage(options(storage, cutoff, { stagingCutoff: cutoff }));
      const byKey = (report: typeof dry) => report.collected.map((object) => `${object.kind} ${object.key} ${object.size}`).sort();
      assert.deepEqual(byKey(dry), byKey(real));
      assert.ok(byKey(dry).some((line) => line.startsWith('staging upload staging/crashed-upload')));
    });

    test('staging uploads last written before their cutoff go, younger ones stay', async (storage) => {
      await storage.writeBytes(stagingKey('old'), Buffer.from('x'));
      const stagingCutoff = await passCutoff();
      await storage.writeBytes(stagingKey('young'), Buffer.from('y'));
      await collectGarbage(options(storage, stagingCutoff - 365 * DAY_MS, { stagingCutoff }));
      assert.deepEqual([...(await keys(storage))], [stagingKey('young')]);
    });

    test('a layer reused by a build that starts during the collection is not deleted', async (storage) => {
      const reused = layer('reused');
      const other = layer('other');
      await publish(storage, 'old', [reused, other]);
      const cutoff = await passCutoff();
      const layerCache = new LayerCache(storage, 'gzip-6');
      // A build that looked its layers up before the collection began, and publishes during it.
      const early = await layerCache.get(other.paths);
      assert.ok(early, 'the layer is cached when the early build looks');
      let lateBuild: { record: ImageRecord } | undefined;
      let earlyBuild: { record: ImageRecord } | undefined;
      await collectGarbage(
        options(storage, cutoff, {
          graceMs: 1,
          wait: async () => {
            // Between marking and sweeping: the early build publishes; a late one starts, finds
            // the layer cache without the doomed layer and stores it again (same bytes, same key).
            earlyBuild = await publish(storage, 'early', [other]);
            lateBuild = await publish(storage, 'late', [reused]);
          },
        }),
      );
      const after = await keys(storage);
      assert.ok(earlyBuild && lateBuild);
      for (const key of [...contentKeys(earlyBuild.record), ...contentKeys(lateBuild.record)]) assert.ok(after.has(key), `kept ${key}`);
      assert.ok(await layerCache.get(reused.paths), 'the late build\'s layer cache entry names a blob that exists');
    });

    test('stops, deleting nothing, at a recent image cache entry it cannot read (a newer origin\'s)', async (storage) => {
      await publish(storage, 'old', [layer('old')]);
      const cutoff = await passCutoff();
      await storage.writeBytes(imageCacheKey('f'.repeat(64)), Buffer.from('{"version":99,"index":{}}'));
      const before = await keys(storage);
      await assert.rejects(collectGarbage(options(storage, cutoff)), UnsafeCollectionError);
      assert.deepEqual(await keys(storage), before);
    });
  });
}
