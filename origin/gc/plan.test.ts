/** The GC plan, a pure function: what is live, what goes, what stops a run. */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { digestFromHex, type Digest } from '../../shared/digest.ts';
import { contentKey, usedMarkerKey } from '../../shared/keys.ts';
import type { ListedObject } from '../storage/storage.ts';
import { planCollection, unclaimedFreshMarkers, usedAt, UnsafeCollectionError, type Inventory, type RecordSeen } from './plan.ts';
import { formatDuration, parseDuration } from './duration.ts';

const CUTOFF = 1_000_000;
const OLD = CUTOFF - 1;
const NEW = CUTOFF;
const d = (c: string): Digest => digestFromHex(c.repeat(64));
const object = (key: string, lastModified: number, size = 1): ListedObject => ({ key, lastModified, size });
const record = (name: string, lastModified: number, manifests: Digest[], blobs: Digest[]): RecordSeen => ({
  object: object(`cache/images/${name}`, lastModified),
  references: { manifests, blobs },
});
const content = (...entries: [Digest, number][]): Map<Digest, ListedObject> => new Map(entries.map(([digest, at]) => [digest, object(contentKey(digest), at)]));

/** An inventory with nothing but what is given. */
function inventory(parts: Partial<Inventory>): Inventory {
  return { records: [], markers: new Map(), content: new Map(), layerEntries: [], staging: [], servedManifests: new Map(), ...parts };
}

describe('planCollection', () => {
  it('keeps what a record used since the cutoff names; the rest older than the cutoff goes', () => {
    const live = record('live', NEW, [d('1')], [d('2'), d('3')]);
    const expired = record('expired', OLD, [d('4')], [d('3'), d('5')]);
    const plan = planCollection(inventory({ records: [live, expired], content: content([d('1'), OLD], [d('2'), OLD], [d('3'), OLD], [d('4'), OLD], [d('5'), OLD], [d('6'), NEW]) }), CUTOFF, 0);
    assert.deepEqual(plan.live, [live]);
    assert.deepEqual(plan.records.map((o) => o.key), ['cache/images/expired']);
    assert.deepEqual(plan.blobs.map((o) => o.key).sort(), [contentKey(d('4')), contentKey(d('5'))].sort(), 'd6 is unreferenced but new (a build in flight)');
  });

  it('a record is used at its latest marker, whatever its own age', () => {
    const markers = new Map([[d('1'), object(usedMarkerKey(d('1')), NEW + 5)]]);
    const seen = record('old', OLD - 100, [d('9'), d('1')], []);
    assert.equal(usedAt(seen, markers), NEW + 5);
    assert.deepEqual(planCollection(inventory({ records: [seen], markers }), CUTOFF, 0).live, [seen]);
  });

  it('a layer cache entry written since the cutoff keeps its blob; old entries naming doomed or missing blobs go', () => {
    const plan = planCollection(
      inventory({
        content: content([d('1'), OLD], [d('2'), OLD]),
        layerEntries: [
          { object: object('cache/layers/fresh', NEW), digest: d('1') },
          { object: object('cache/layers/doomed', OLD), digest: d('2') },
          { object: object('cache/layers/dangling', OLD), digest: d('7') },
          { object: object('cache/layers/garbled', OLD), digest: undefined },
        ],
      }),
      CUTOFF,
      0,
    );
    assert.deepEqual(plan.blobs.map((o) => o.key), [contentKey(d('2'))]);
    assert.deepEqual(plan.layerEntries.map((o) => o.key).sort(), ['cache/layers/dangling', 'cache/layers/doomed', 'cache/layers/garbled']);
  });

  it('manifests served lately keep what they name; markers naming nothing live go', () => {
    const markers = new Map([
      [d('1'), object(usedMarkerKey(d('1')), NEW)],
      [d('8'), object(usedMarkerKey(d('8')), OLD)],
    ]);
    const records: RecordSeen[] = [];
    assert.deepEqual(unclaimedFreshMarkers(records, markers, CUTOFF), [d('1')]);
    const plan = planCollection(
      inventory({ markers, content: content([d('1'), OLD], [d('2'), OLD], [d('8'), OLD]), servedManifests: new Map([[d('1'), { manifests: [], blobs: [d('2')] }]]) }),
      CUTOFF,
      0,
    );
    assert.deepEqual(plan.blobs.map((o) => o.key), [contentKey(d('8'))]);
    assert.deepEqual(plan.markers.map((o) => o.key), [usedMarkerKey(d('8'))]);
  });

  it('an unreadable record: old goes, recent stops the run, deleted earlier is ignored', () => {
    const garbled = (lastModified: number, deleted = false): RecordSeen => ({ object: object('cache/images/garbled', lastModified), references: undefined, deleted });
    assert.deepEqual(planCollection(inventory({ records: [garbled(OLD)] }), CUTOFF, 0).records.map((o) => o.key), ['cache/images/garbled']);
    assert.throws(() => planCollection(inventory({ records: [garbled(NEW)] }), CUTOFF, 0), UnsafeCollectionError);
    assert.deepEqual(planCollection(inventory({ records: [garbled(NEW, true)] }), CUTOFF, 0).records, []);
  });

  it('staging uploads go by their own cutoff', () => {
    const plan = planCollection(inventory({ staging: [object('staging/a', 10), object('staging/b', 20)] }), CUTOFF, 15);
    assert.deepEqual(plan.staging.map((o) => o.key), ['staging/a']);
  });
});

describe('durations', () => {
  it('parses one unit and prints the largest that divides', () => {
    assert.equal(parseDuration('30d'), 30 * 86_400_000);
    assert.equal(parseDuration('90m'), 5_400_000);
    assert.equal(formatDuration(5_400_000), '90m');
    assert.equal(formatDuration(86_400_000 * 7), '7d');
    for (const bad of ['', '30', 'd', '1.5h', '-1d', '3w']) assert.throws(() => parseDuration(bad), RangeError, bad);
  });
});
