/** The edge's configuration, read from its bindings and validated once per isolate. */

import { z } from 'zod';
import { RegistryError } from '../shared/errors.ts';
import type { Bindings } from './env.ts';
import { GCS_DEFAULT_HOST } from './gcs-signing.ts';

export type BlobRedirect =
  | { mode: 'r2-public'; publicUrl: string }
  | { mode: 'r2-presigned'; endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string; expirySeconds: number }
  | {
      mode: 'gcs-signed';
      /** Where the signed URL points: storage.googleapis.com, or GCS_ENDPOINT's scheme and host[:port]. */
      scheme: 'https' | 'http';
      host: string;
      bucket: string;
      serviceAccountEmail: string;
      privateKeyPem: string;
      expirySeconds: number;
    }
  | { mode: 'gcs-public'; publicUrl: string }
  | { mode: 'origin'; originUrl: string };

export interface EdgeConfig {
  /** Where misses go (ORIGIN_URLS, or ORIGIN_URL as a list of one); each image's order is rendezvous-hashed (shared/rendezvous.ts). */
  originUrls: string[];
  /** How long a miss waits for the origin to start answering (ORIGIN_TIMEOUT_SECONDS). */
  originTimeoutSeconds: number;
  sharedSecret: string | undefined;
  tagTtlSeconds: number;
  /** How long KV keeps what names the bucket's content (KV_RETENTION_SECONDS); bucket GC's --older-than must exceed it. */
  kvRetentionSeconds: number;
  blobRedirect: BlobRedirect;
}

const url = z.url({ protocol: /^https?$/ }).transform((value) => value.replace(/\/+$/, ''));
const seconds = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((value) => (value === undefined || value.trim() === '' ? String(fallback) : value.trim()))
    .pipe(z.string().regex(/^\d+$/, 'Expected a whole number of seconds'))
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** ORIGIN_URLS: comma-separated origin base URLs (blank = unset), each an http(s) URL, no repeats. */
const urlList = z
  .string()
  .optional()
  .transform((value) => (value ?? '').split(',').map((item) => item.trim()).filter((item) => item !== ''))
  .pipe(z.array(url))
  .refine((urls) => new Set(urls).size === urls.length, 'Expected each origin once');

const schema = z.object({
  ORIGIN_URL: z.preprocess((value) => (typeof value === 'string' && value.trim() === '' ? undefined : value), url.optional()),
  ORIGIN_URLS: urlList,
  ORIGIN_PUBLIC_URL: url.optional(),
  NIXEDGE_SHARED_SECRET: z.string().min(32, 'Expected NIXEDGE_SHARED_SECRET to be at least 32 characters').optional(),
  // Below 60 s a tag refreshes faster than KV propagates between locations: for tests and local use.
  // Above the origin's NIX_TIMEOUT (60 s by default): a cold build answers before the edge gives up.
  ORIGIN_TIMEOUT_SECONDS: seconds(180, 1, 3600),
  TAG_TTL_SECONDS: seconds(300, 1, 31_536_000),
  // Tag pointers live half of it, and KV's shortest expiration is 60 s.
  KV_RETENTION_SECONDS: seconds(604_800, 120, 31_536_000),
  BLOB_REDIRECT: z.enum(['r2-public', 'r2-presigned', 'gcs-signed', 'gcs-public', 'origin']),
  R2_PUBLIC_URL: z.string().optional(),
  R2_S3_ENDPOINT: z.string().optional(),
  R2_BUCKET: z.string().optional(),
  R2_ACCESS_KEY_ID: z.string().optional(),
  R2_SECRET_ACCESS_KEY: z.string().optional(),
  GCS_BUCKET: z.string().optional(),
  GCS_PUBLIC_URL: z.string().optional(),
  GCS_ENDPOINT: z.string().optional(),
  GCS_SERVICE_ACCOUNT_KEY: z.string().optional(),
  PRESIGN_EXPIRY_SECONDS: seconds(3600, 1, 604_800),
  // Read by the request log itself (edge/request-log.ts); validated here so a typo is reported.
  REQUEST_LOG: z.enum(['on', 'off']).optional(),
});

const cache = new WeakMap<object, EdgeConfig>();

/** The configuration for these bindings; a misconfigured edge answers 500 with what is wrong. */
export function edgeConfig(env: Bindings): EdgeConfig {
  const cached = cache.get(env);
  if (cached) return cached;
  const parsed = schema.safeParse({ ...env, NIXEDGE_SHARED_SECRET: env.NIXEDGE_SHARED_SECRET || undefined });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new RegistryError('UNKNOWN', `The edge is misconfigured: ${problems}`);
  }
  const vars = parsed.data;
  // ORIGIN_URLS, when set, replaces ORIGIN_URL (which wrangler.toml may still carry).
  const originUrls = vars.ORIGIN_URLS.length > 0 ? vars.ORIGIN_URLS : vars.ORIGIN_URL === undefined ? [] : [vars.ORIGIN_URL];
  if (originUrls.length === 0) throw new RegistryError('UNKNOWN', 'The edge is misconfigured: ORIGIN_URLS (or ORIGIN_URL) must name at least one origin');
  const config: EdgeConfig = {
    originUrls,
    originTimeoutSeconds: vars.ORIGIN_TIMEOUT_SECONDS,
    sharedSecret: vars.NIXEDGE_SHARED_SECRET,
    tagTtlSeconds: vars.TAG_TTL_SECONDS,
    kvRetentionSeconds: vars.KV_RETENTION_SECONDS,
    blobRedirect: blobRedirect(vars, originUrls),
  };
  cache.set(env, config);
  return config;
}

function blobRedirect(vars: z.infer<typeof schema>, originUrls: readonly string[]): BlobRedirect {
  const missing = (name: string): never => {
    throw new RegistryError('UNKNOWN', `The edge is misconfigured: BLOB_REDIRECT=${vars.BLOB_REDIRECT} needs ${name}`);
  };
  switch (vars.BLOB_REDIRECT) {
    case 'r2-public':
      return { mode: 'r2-public', publicUrl: (vars.R2_PUBLIC_URL || missing('R2_PUBLIC_URL')).replace(/\/+$/, '') };
    case 'r2-presigned':
      return {
        mode: 'r2-presigned',
        endpoint: (vars.R2_S3_ENDPOINT || missing('R2_S3_ENDPOINT')).replace(/\/+$/, ''),
        bucket: vars.R2_BUCKET || missing('R2_BUCKET'),
        accessKeyId: vars.R2_ACCESS_KEY_ID || missing('R2_ACCESS_KEY_ID'),
        secretAccessKey: vars.R2_SECRET_ACCESS_KEY || missing('R2_SECRET_ACCESS_KEY'),
        expirySeconds: vars.PRESIGN_EXPIRY_SECONDS,
      };
    case 'gcs-signed': {
      const endpoint = gcsEndpoint(vars.GCS_ENDPOINT);
      const bucket = vars.GCS_BUCKET || missing('GCS_BUCKET');
      const key = serviceAccountKey(vars.GCS_SERVICE_ACCOUNT_KEY || missing("GCS_SERVICE_ACCOUNT_KEY (a secret: the service account's JSON key file)"));
      return { mode: 'gcs-signed', ...endpoint, bucket, ...key, expirySeconds: vars.PRESIGN_EXPIRY_SECONDS };
    }
    case 'gcs-public': {
      if (vars.GCS_PUBLIC_URL) return { mode: 'gcs-public', publicUrl: vars.GCS_PUBLIC_URL.replace(/\/+$/, '') };
      const { scheme, host } = gcsEndpoint(vars.GCS_ENDPOINT);
      return { mode: 'gcs-public', publicUrl: `${scheme}://${host}/${vars.GCS_BUCKET || missing('GCS_BUCKET (or GCS_PUBLIC_URL)')}` };
    }
    case 'origin':
      // With several origins their storage is shared, so any of them serves every blob.
      return { mode: 'origin', originUrl: vars.ORIGIN_PUBLIC_URL ?? originUrls[0] ?? '' };
  }
}

const misconfigured = (message: string): never => {
  throw new RegistryError('UNKNOWN', `The edge is misconfigured: ${message}`);
};

/** GCS_ENDPOINT (an emulator, e.g. http://127.0.0.1:9199) as scheme and host[:port]; storage.googleapis.com by default. */
function gcsEndpoint(value: string | undefined): { scheme: 'https' | 'http'; host: string } {
  if (!value?.trim()) return { scheme: 'https', host: GCS_DEFAULT_HOST };
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return misconfigured(`GCS_ENDPOINT must be a URL like https://storage.googleapis.com or http://127.0.0.1:9199, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return misconfigured('GCS_ENDPOINT must be an http or https URL');
  if (url.pathname.replace(/\/+$/, '') !== '' || url.search !== '' || url.username !== '') {
    return misconfigured('GCS_ENDPOINT must be a scheme and host[:port] only (objects are addressed as /<bucket>/<object>)');
  }
  return { scheme: url.protocol === 'https:' ? 'https' : 'http', host: url.host };
}

const keyFile = z.object({
  client_email: z.string().min(1),
  private_key: z.string().includes('-----BEGIN PRIVATE KEY-----'),
});

/** The service account's JSON key file (GCS_SERVICE_ACCOUNT_KEY): its email and PKCS#8 private key. */
function serviceAccountKey(json: string): { serviceAccountEmail: string; privateKeyPem: string } {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    // Never echo the secret.
    return misconfigured("GCS_SERVICE_ACCOUNT_KEY must be the service account's JSON key file (it is not valid JSON)");
  }
  const parsed = keyFile.safeParse(value);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || 'the key file'))].join(', ');
    return misconfigured(
      `GCS_SERVICE_ACCOUNT_KEY must be the service account's JSON key file with client_email and a PKCS#8 private_key ("-----BEGIN PRIVATE KEY-----"); check ${fields}`,
    );
  }
  return { serviceAccountEmail: parsed.data.client_email, privateKeyPem: parsed.data.private_key };
}
