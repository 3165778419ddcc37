/** The Worker's environment: bindings and vars from wrangler.toml (typed by `wrangler types`), plus secrets. */

export interface Bindings extends Env {
  /** HMAC secret shared with the origin (wrangler secret). Without it no write-back is accepted. */
  NIXEDGE_SHARED_SECRET?: string;
  /** R2 S3 API credentials, for BLOB_REDIRECT = "r2-presigned" (wrangler secrets). */
  R2_ACCESS_KEY_ID?: string;
  R2_SECRET_ACCESS_KEY?: string;
  /** The origin's URL as clients can reach it, for BLOB_REDIRECT = "origin" (default ORIGIN_URL). */
  ORIGIN_PUBLIC_URL?: string;
}

export interface EdgeEnv {
  Bindings: Bindings;
}
