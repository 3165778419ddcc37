/**
 * What a stored manifest names (for bucket GC): an image manifest's config and layers, an index's
 * manifests. Read from the standard OCI and Docker formats only, so a manifest this registry did
 * not record (one served by digest lately) still keeps what it needs.
 */

import { z } from 'zod';
import { isDigest, type Digest } from '../../shared/digest.ts';

const descriptor = z.object({ digest: z.string() });
const manifestSchema = z.object({
  config: descriptor.optional(),
  layers: z.array(descriptor).optional(),
  manifests: z.array(descriptor).optional(),
});

/** The blobs and child manifests a manifest's bytes name; empty for bytes that are not a manifest. */
export function manifestReferences(bytes: Uint8Array): { blobs: Digest[]; manifests: Digest[] } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return { blobs: [], manifests: [] };
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) return { blobs: [], manifests: [] };
  const digests = (items: readonly { digest: string }[] | undefined): Digest[] => (items ?? []).map((item) => item.digest).filter(isDigest);
  return {
    blobs: digests([...(parsed.data.config ? [parsed.data.config] : []), ...(parsed.data.layers ?? [])]),
    manifests: digests(parsed.data.manifests),
  };
}
