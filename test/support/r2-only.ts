/**
 * A Worker with nothing but an R2 binding (test/support/r2-only/wrangler.toml): under `wrangler
 * dev` it serves that bucket's S3 API, which the S3 storage backend's tests and benchmark use.
 */

import { fileURLToPath } from 'node:url';

/** The bucket, binding and S3 credentials of test/support/r2-only/wrangler.toml. */
export const R2_ONLY = {
  config: fileURLToPath(new URL('./r2-only/wrangler.toml', import.meta.url)),
  binding: 'BLOBS',
  bucket: 'nixedge-test',
  accessKeyId: 'nixedge-test-access-key',
  secretAccessKey: 'nixedge-test-secret-key',
} as const;
