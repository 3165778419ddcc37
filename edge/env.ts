/** The Worker's environment: bindings and vars from wrangler.toml (typed by `wrangler types`), plus secrets. */

export interface Bindings extends Env {
  /** Where misses go when there is more than one origin: comma-separated base URLs (replaces ORIGIN_URL when set). */
  ORIGIN_URLS?: string;
  /** HMAC secret shared with the origin (wrangler secret). Without it no write-back is accepted. */
  NIXEDGE_SHARED_SECRET?: string;
  /** R2 S3 API credentials, for BLOB_REDIRECT = "r2-presigned" (wrangler secrets). */
  R2_ACCESS_KEY_ID?: string;
  R2_SECRET_ACCESS_KEY?: string;
  /**
   * For BLOB_REDIRECT = "gcs-signed" (wrangler secret): the service account's JSON key file, whose
   * `client_email` and PKCS#8 `private_key` sign V4 URLs (GOOG4-RSA-SHA256) at the edge.
   */
  GCS_SERVICE_ACCOUNT_KEY?: string;
  /** For BLOB_REDIRECT = "gcs-signed" | "gcs-public": the bucket holding the layers. */
  GCS_BUCKET?: string;
  /** For BLOB_REDIRECT = "gcs-public": the bucket's public base URL (default https://storage.googleapis.com/<GCS_BUCKET>). */
  GCS_PUBLIC_URL?: string;
  /** Another GCS endpoint (scheme://host[:port], e.g. an emulator); signed URLs then target and sign that host. */
  GCS_ENDPOINT?: string;
  /** The origin's URL as clients can reach it, for BLOB_REDIRECT = "origin" (default ORIGIN_URL). */
  ORIGIN_PUBLIC_URL?: string;
  /** "off": no log line per request (edge/request-log.ts); "on" (default). */
  REQUEST_LOG?: string;
}

export interface EdgeEnv {
  Bindings: Bindings;
}
