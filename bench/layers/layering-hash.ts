/** A layering's identity for the determinism check: equal hashes = the same layers in the same order. */

import { createHash } from 'node:crypto';
import type { LayerGroup } from '../../origin/layers/types.ts';

/** A hash of an ordered list of layers (each its sorted paths). */
export function layeringHash(layers: readonly LayerGroup[]): string {
  const hash = createHash('sha256');
  for (const layer of layers) hash.update(layer.storePaths.join('\n')).update('\n--\n');
  return hash.digest('hex').slice(0, 16);
}
