/**
 * What bucket GC deletes, as a pure function of what it listed (origin/gc/collect.ts does the
 * I/O). An image is live when its image cache entry, or a used marker of one of its manifests,
 * was written at or after the cutoff. Then, of everything older than the cutoff:
 *
 *   image cache entries    that are not live
 *   blobs (layers/<hex>)   that no live image, no manifest served lately (a fresh used marker),
 *                          and no layer cache entry written at or after the cutoff names
 *   layer cache entries    naming a blob that goes or is gone, or unreadable
 *   used markers           of manifests nothing live names
 *   staging uploads        older than their own cutoff (a day: uploads in flight are minutes old)
 *
 * An entry written at or after the cutoff that this code cannot read (a newer origin's format)
 * stops the run: what it names is unknown, so nothing could be deleted safely.
 */

import type { Digest } from '../../shared/digest.ts';
import type { ListedObject } from '../storage/storage.ts';

/** What an image cache entry or a manifest names. */
export interface References {
  manifests: Digest[];
  blobs: Digest[];
}

/** An image cache entry as GC saw it. */
export interface RecordSeen {
  object: ListedObject;
  /** What it names; undefined when it is not a record this code reads. */
  references: References | undefined;
  /** Deleted earlier in this run: it still counts if it turns out used, and is not deleted again. */
  deleted?: boolean;
}

/** A layer cache entry as GC saw it. */
export interface LayerEntrySeen {
  object: ListedObject;
  /** The blob it names; undefined when unreadable. */
  digest: Digest | undefined;
}

export interface Inventory {
  records: RecordSeen[];
  /** Used markers, by the manifest they name. */
  markers: Map<Digest, ListedObject>;
  /** Content-addressed objects (`layers/<hex>`), by digest. */
  content: Map<Digest, ListedObject>;
  layerEntries: LayerEntrySeen[];
  staging: ListedObject[];
  /**
   * What the manifests with a fresh marker that no entry names (served by digest lately) name in
   * turn, read from storage (an index's manifests included, resolved).
   */
  servedManifests: Map<Digest, References>;
}

export interface Plan {
  /** Image cache entries kept (used at or after the cutoff). */
  live: RecordSeen[];
  /** Every digest something live names. */
  referenced: Set<Digest>;
  records: ListedObject[];
  blobs: ListedObject[];
  layerEntries: ListedObject[];
  markers: ListedObject[];
  staging: ListedObject[];
}

/** Stops a run that cannot tell what is safe to delete. */
export class UnsafeCollectionError extends Error {
  override name = 'UnsafeCollectionError';
}

/** When a record was last used: its own last write, or the latest marker of a manifest it names. */
export function usedAt(record: RecordSeen, markers: ReadonlyMap<Digest, ListedObject>): number {
  let latest = record.object.lastModified;
  for (const manifest of record.references?.manifests ?? []) latest = Math.max(latest, markers.get(manifest)?.lastModified ?? 0);
  return latest;
}

/** Manifests with a marker at or after the cutoff that no image cache entry names (their references must be read). */
export function unclaimedFreshMarkers(records: readonly RecordSeen[], markers: ReadonlyMap<Digest, ListedObject>, cutoff: number): Digest[] {
  const named = new Set(records.flatMap((record) => record.references?.manifests ?? []));
  return [...markers].filter(([digest, marker]) => marker.lastModified >= cutoff && !named.has(digest)).map(([digest]) => digest);
}

/** What to delete of `inventory` for this cutoff (ms since the epoch) and staging cutoff. */
export function planCollection(inventory: Inventory, cutoff: number, stagingCutoff: number): Plan {
  const live = inventory.records.filter((record) => usedAt(record, inventory.markers) >= cutoff);
  const unreadable = live.find((record) => record.references === undefined && !record.deleted);
  if (unreadable) {
    throw new UnsafeCollectionError(
      `Expected image cache entries this gc can read, got ${unreadable.object.key}, written at ${new Date(unreadable.object.lastModified).toISOString()} ` +
        '(by a newer origin?): what it names is unknown, so nothing is deleted. Run the gc of the origin version that wrote it',
    );
  }
  const referenced = new Set<Digest>();
  for (const record of live) for (const digest of [...(record.references?.manifests ?? []), ...(record.references?.blobs ?? [])]) referenced.add(digest);
  for (const [manifest, references] of inventory.servedManifests) {
    for (const digest of [manifest, ...references.manifests, ...references.blobs]) referenced.add(digest);
  }
  const freshlyCached = new Set(inventory.layerEntries.filter((entry) => entry.object.lastModified >= cutoff && entry.digest).map((entry) => entry.digest));
  const liveKeys = new Set(live.map((record) => record.object.key));

  const blobs = [...inventory.content].filter(([digest, object]) => object.lastModified < cutoff && !referenced.has(digest) && !freshlyCached.has(digest));
  const going = new Set(blobs.map(([digest]) => digest));
  return {
    live,
    referenced,
    records: inventory.records.filter((record) => !record.deleted && !liveKeys.has(record.object.key)).map((record) => record.object),
    blobs: blobs.map(([, object]) => object),
    layerEntries: inventory.layerEntries
      .filter((entry) => entry.object.lastModified < cutoff && (entry.digest === undefined || going.has(entry.digest) || !inventory.content.has(entry.digest)))
      .map((entry) => entry.object),
    markers: [...inventory.markers].filter(([digest, marker]) => marker.lastModified < cutoff && !referenced.has(digest)).map(([, marker]) => marker),
    staging: inventory.staging.filter((object) => object.lastModified < stagingCutoff),
  };
}
