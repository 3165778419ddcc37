/**
 * Bucket garbage collection (`npm run gc`), safe while origins serve, in two phases:
 *
 * 1. Mark: list the bucket, read the image and layer cache entries, plan (./plan.ts). Delete the
 *    image cache entries not used since the cutoff, the layer cache entries naming blobs that go,
 *    and staging uploads older than a day. From now on no pull resolves to an expired image and
 *    no build can reuse a doomed layer through the layer cache: it uploads the layer again (same
 *    bytes, same key, a fresh last write).
 * 2. Sweep, after a grace period longer than any build: list and plan again with the same cutoff.
 *    A build that found a doomed layer before phase 1 has published its image by now, and the
 *    image is live; an image pulled meanwhile has a fresh used marker; a layer uploaded again has
 *    a fresh last write. Only blobs that are doomed in both plans are deleted, then the layer
 *    cache entries and used markers that name nothing live.
 *
 * A dry run does phase 1's reading and planning, deletes nothing and reports the plan.
 */

import pMap from 'p-map';
import type { Digest } from '../../shared/digest.ts';
import { contentKey, digestOfKey, STORAGE_PREFIXES } from '../../shared/keys.ts';
import { layerEntryDigest } from '../cache/layer-cache.ts';
import { recordReferences } from '../cache/image-cache.ts';
import type { ListedObject, Storage } from '../storage/storage.ts';
import { manifestReferences } from './manifest-references.ts';
import { planCollection, unclaimedFreshMarkers, type Inventory, type LayerEntrySeen, type RecordSeen, type References } from './plan.ts';

/** Kinds of objects GC deletes, as the report names them. */
export type CollectedKind = 'blob' | 'image cache entry' | 'layer cache entry' | 'used marker' | 'staging upload';

export interface CollectedObject extends ListedObject {
  kind: CollectedKind;
}

export interface CollectOptions {
  storage: Storage;
  /** Images not used since this time (ms since the epoch) go, and what only they name. */
  cutoff: number;
  /** Staging uploads last written before this go. */
  stagingCutoff: number;
  /** Time between marking and sweeping: longer than any build takes. */
  graceMs: number;
  dryRun: boolean;
  /** Storage requests in flight at once (default 16). */
  concurrency?: number;
  /** Waits out the grace period (default: a timer); tests run a build here. */
  wait?: (ms: number) => Promise<void>;
  /** Told each phase as it starts ("mark", "grace", "sweep"), for logs. */
  onPhase?: (phase: 'mark' | 'grace' | 'sweep') => void;
}

export interface CollectionReport {
  dryRun: boolean;
  /** Deleted (or, in a dry run, to delete), in the order of deletion. */
  collected: CollectedObject[];
  /** Image cache entries kept, and the blobs they and lately served manifests name. */
  liveImages: number;
  keptBlobs: number;
}

/** Runs one collection; resolves with what it deleted (or would delete, in a dry run). */
export async function collectGarbage(options: CollectOptions): Promise<CollectionReport> {
  const concurrency = options.concurrency ?? 16;
  options.onPhase?.('mark');
  const first = await takeInventory(options.storage, options.cutoff, concurrency);
  const marked = planCollection(first, options.cutoff, options.stagingCutoff);
  if (options.dryRun) {
    const collected = [
      ...tagged('image cache entry', marked.records),
      ...tagged('layer cache entry', marked.layerEntries),
      ...tagged('staging upload', marked.staging),
      ...tagged('blob', marked.blobs),
      ...tagged('used marker', marked.markers),
    ];
    return { dryRun: true, collected, liveImages: marked.live.length, keptBlobs: first.content.size - marked.blobs.length };
  }
  const collected: CollectedObject[] = [];
  const remove = async (kind: CollectedKind, objects: readonly ListedObject[]): Promise<void> => {
    await pMap(objects, (object) => options.storage.delete(object.key), { concurrency });
    collected.push(...tagged(kind, objects));
  };
  await remove('image cache entry', marked.records);
  await remove('layer cache entry', marked.layerEntries);
  await remove('staging upload', marked.staging);

  options.onPhase?.('grace');
  await (options.wait ?? delay)(options.graceMs);

  options.onPhase?.('sweep');
  const sweepStarted = Date.now();
  const deletedRecords = new Set(marked.records.map((object) => object.key));
  const second = await takeInventory(options.storage, options.cutoff, concurrency, first.records, deletedRecords);
  const swept = planCollection(second, options.cutoff, options.stagingCutoff);
  const doomedBefore = new Set(marked.blobs.map((object) => object.key));
  // The last look before deleting: what entries written since the sweep began name stays.
  const fenced = await namedSince(options.storage, sweepStarted - CLOCK_SLACK_MS, concurrency);
  const blobs = swept.blobs.filter((object) => doomedBefore.has(object.key) && !fenced.has(object.key));
  const going = new Set(blobs.map((object) => object.key));
  await remove('image cache entry', swept.records);
  // Entries naming a blob that stays (it came back during the grace period) stay too.
  const entries = new Map(second.layerEntries.map((entry) => [entry.object.key, entry]));
  await remove('layer cache entry', swept.layerEntries.filter((object) => namesGoingOrMissing(second, entries.get(object.key), going)));
  await remove('blob', blobs);
  await remove('used marker', swept.markers);
  return { dryRun: false, collected, liveImages: swept.live.length, keptBlobs: second.content.size - blobs.length };
}

/** Object stores report whole seconds, and clocks of the machines involved differ a little. */
const CLOCK_SLACK_MS = 5_000;

/** The content keys that image or layer cache entries written at or after `since` name. */
async function namedSince(storage: Storage, since: number, concurrency: number): Promise<Set<string>> {
  const [records, entries] = await Promise.all([listAll(storage, STORAGE_PREFIXES.imageCache), listAll(storage, STORAGE_PREFIXES.layerCache)]);
  const named = new Set<string>();
  await pMap(
    [...records, ...entries].filter((object) => object.lastModified >= since),
    async (object) => {
      const bytes = await storage.readBytes(object.key);
      if (bytes === undefined) return;
      if (object.key.startsWith(STORAGE_PREFIXES.imageCache)) {
        const references = recordReferences(bytes);
        for (const digest of [...(references?.manifests ?? []), ...(references?.blobs ?? [])]) named.add(contentKey(digest));
      } else {
        const digest = layerEntryDigest(bytes);
        if (digest !== undefined) named.add(contentKey(digest));
      }
    },
    { concurrency },
  );
  return named;
}

/** Whether a layer cache entry names a blob that goes now, is gone, or nothing readable. */
function namesGoingOrMissing(inventory: Inventory, entry: LayerEntrySeen | undefined, going: ReadonlySet<string>): boolean {
  if (entry?.digest === undefined) return true;
  return going.has(contentKey(entry.digest)) || !inventory.content.has(entry.digest);
}

/** Everything GC looks at, listed and read. Entries read before (same key, same last write) are not read again. */
async function takeInventory(
  storage: Storage,
  cutoff: number,
  concurrency: number,
  known: readonly RecordSeen[] = [],
  deleted: ReadonlySet<string> = new Set(),
): Promise<Inventory> {
  const [recordObjects, markerObjects, contentObjects, entryObjects, staging] = await Promise.all([
    listAll(storage, STORAGE_PREFIXES.imageCache),
    listAll(storage, STORAGE_PREFIXES.used),
    listAll(storage, STORAGE_PREFIXES.content),
    listAll(storage, STORAGE_PREFIXES.layerCache),
    listAll(storage, STORAGE_PREFIXES.staging),
  ]);
  const byDigest = (objects: readonly ListedObject[]): Map<Digest, ListedObject> => {
    const map = new Map<Digest, ListedObject>();
    for (const object of objects) {
      const digest = digestOfKey(object.key);
      if (digest !== undefined) map.set(digest, object); // other names under layers/ are not ours to judge
    }
    return map;
  };
  const knownByKey = new Map(known.map((record) => [record.object.key, record]));
  const read = async (object: ListedObject): Promise<Uint8Array | undefined> => storage.readBytes(object.key);
  const records = (
    await pMap(
      recordObjects,
      async (object): Promise<RecordSeen | undefined> => {
        const before = knownByKey.get(object.key);
        if (before?.object.lastModified === object.lastModified) return { ...before, object };
        const bytes = await read(object);
        return bytes === undefined ? undefined : { object, references: recordReferences(bytes) }; // undefined: deleted meanwhile
      },
      { concurrency },
    )
  ).filter((record): record is RecordSeen => record !== undefined);
  // Records this run deleted still count when a marker says they were used meanwhile.
  const listed = new Set(records.map((record) => record.object.key));
  for (const record of known) if (deleted.has(record.object.key) && !listed.has(record.object.key)) records.push({ ...record, deleted: true });

  const layerEntries = (
    await pMap(
      entryObjects,
      async (object): Promise<LayerEntrySeen | undefined> => {
        const bytes = await read(object);
        return bytes === undefined ? undefined : { object, digest: layerEntryDigest(bytes) };
      },
      { concurrency },
    )
  ).filter((entry): entry is LayerEntrySeen => entry !== undefined);

  const markers = byDigest(markerObjects);
  const servedManifests = new Map<Digest, References>();
  const resolve = async (digest: Digest, depth: number): Promise<void> => {
    if (servedManifests.has(digest) || depth > 3) return;
    const bytes = await storage.readBytes(contentKey(digest));
    const references = bytes === undefined ? { blobs: [], manifests: [] } : manifestReferences(bytes);
    servedManifests.set(digest, references);
    for (const child of references.manifests) await resolve(child, depth + 1);
  };
  await pMap(unclaimedFreshMarkers(records, markers, cutoff), (digest) => resolve(digest, 0), { concurrency });
  return { records, markers, content: byDigest(contentObjects), layerEntries, staging, servedManifests };
}

/** Every object under `prefix`. */
async function listAll(storage: Storage, prefix: string): Promise<ListedObject[]> {
  const objects: ListedObject[] = [];
  for await (const object of storage.list(prefix)) objects.push(object);
  return objects;
}

/** The objects with their kind, for the report. */
function tagged(kind: CollectedKind, objects: readonly ListedObject[]): CollectedObject[] {
  return objects.map((object) => ({ ...object, kind }));
}

/** Waits `ms`. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

