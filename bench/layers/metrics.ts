/**
 * What the benchmark measures, without real tar or gzip (10,000 paths of up to 2 GB cannot be
 * packed here): a layer's bytes = its paths' narSize x COMPRESSION_RATIO + tar headers
 * (TAR_HEADER_BYTES per entry; a path counts 1 + narSize / AVERAGE_FILE_BYTES entries, a layer 2 more
 * for /nix and /nix/store, plus the 1 KiB end-of-archive); its identity ("digest") = sha256 of its
 * sorted store paths, as the layer cache keys layers.
 */

import { createHash } from 'node:crypto';
import type { LayerGroup } from '../../origin/layers/types.ts';

export const COMPRESSION_RATIO = 0.4;
export const TAR_HEADER_BYTES = 512;
export const AVERAGE_FILE_BYTES = 100_000;
export const SMALL_LAYER_BYTES = 100_000;

/** One layer of an image as a client sees it: an identity and a download size. */
export interface Blob {
  digest: string;
  bytes: number;
}

/** Modelled compressed size of a layer holding paths of these narSizes. */
export function layerBytes(narSizes: readonly number[]): number {
  let nar = 0;
  let entries = 2;
  for (const size of narSizes) {
    nar += size;
    entries += 1 + Math.ceil(size / AVERAGE_FILE_BYTES);
  }
  return Math.round(nar * COMPRESSION_RATIO) + entries * TAR_HEADER_BYTES + 1024;
}

/** Identity of a layer: sha256 of its store paths, sorted, one per line. */
export function layerDigest(storePaths: readonly string[]): string {
  const hash = createHash('sha256');
  for (const path of [...storePaths].sort()) hash.update(path).update('\n');
  return hash.digest('hex');
}

/** An image's blobs: its store-path layers in order, then its customisation layer. */
export function imageBlobs(groups: readonly LayerGroup[], sizeOf: (path: string) => number, roots: readonly string[]): Blob[] {
  const blobs = groups.map((group) => ({ digest: layerDigest(group.storePaths), bytes: layerBytes(group.storePaths.map(sizeOf)) }));
  blobs.push(customisationBlob(roots));
  return blobs;
}

/** The customisation layer (symlinks to the requested roots, /etc files): per image, ~10 kB. */
export function customisationBlob(roots: readonly string[]): Blob {
  return { digest: `custom:${layerDigest(roots)}`, bytes: 8192 + 256 * roots.length };
}

/** D: bytes a client downloads pulling the images in order with a warm cache, each digest once. */
export function pullBytes(images: readonly (readonly Blob[])[]): number {
  const seen = new Set<string>();
  let total = 0;
  for (const blobs of images) {
    for (const blob of blobs) {
      if (seen.has(blob.digest)) continue;
      seen.add(blob.digest);
      total += blob.bytes;
    }
  }
  return total;
}

/** D_chain: the same, but a layer is reused only at the same chain position (docker's chain IDs). */
export function chainPullBytes(images: readonly (readonly Blob[])[]): number {
  const seen = new Set<string>();
  let total = 0;
  for (const blobs of images) {
    let chain = '';
    for (const blob of blobs) {
      chain = chain === '' ? blob.digest : createHash('sha256').update(`${chain} ${blob.digest}`).digest('hex');
      if (seen.has(chain)) continue;
      seen.add(chain);
      total += blob.bytes;
    }
  }
  return total;
}

/** Churn: bytes a client holding an image's previous blobs downloads for its next version. */
export function updateBytes(previous: readonly Blob[], next: readonly Blob[]): number {
  const held = new Set(previous.map((blob) => blob.digest));
  let total = 0;
  const counted = new Set<string>();
  for (const blob of next) {
    if (held.has(blob.digest) || counted.has(blob.digest)) continue;
    counted.add(blob.digest);
    total += blob.bytes;
  }
  return total;
}

/** The value at quantile q (0..1) of a list of numbers (nearest rank). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
