/**
 * The production topology in miniature, for `npm start` and the end-to-end tests: the edge
 * Worker under `wrangler dev` (local KV, local R2 whose S3 API the origin uploads to), and the
 * environment an origin needs to sit behind it (S3 storage on that R2, write-backs to the edge,
 * a shared secret generated for local use).
 */

import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startWranglerDev, type WranglerDev } from './wrangler-dev.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The deploy config: the same Worker, bindings and vars as production, run locally. */
export const EDGE_CONFIG = join(REPO_ROOT, 'wrangler.toml');

export interface LocalEdge {
  edge: WranglerDev;
  /** The shared secret the edge holds (generated unless given). */
  secret: string;
  /** What an origin at `originPort` needs to run behind this edge (add a package source). */
  originEnv: Record<string, string>;
}

export interface LocalEdgeOptions {
  persistTo: string;
  /** The edge's port (0 = any free port). */
  edgePort?: number;
  /** The origin's port, which the edge forwards misses to. */
  originPort: number;
  secret?: string;
  /** Extra Worker vars (e.g. TAG_TTL_SECONDS). */
  vars?: Record<string, string>;
}

/** The R2 binding's bucket and local S3 credentials, read from wrangler.toml (one source of truth). */
export async function localR2Binding(config = EDGE_CONFIG): Promise<{ bucket: string; accessKeyId: string; secretAccessKey: string }> {
  const toml = await readFile(config, 'utf8');
  const field = (name: string): string => {
    const match = new RegExp(`${name}\\s*=\\s*"([^"]+)"`).exec(toml);
    if (!match?.[1]) throw new Error(`Expected ${name} in ${config}`);
    return match[1];
  };
  return { bucket: field('bucket_name'), accessKeyId: field('accessKeyId'), secretAccessKey: field('secretAccessKey') };
}

/** Starts the edge locally, wired to an origin at `originPort`. */
export async function startLocalEdge(options: LocalEdgeOptions): Promise<LocalEdge> {
  const secret = options.secret ?? randomBytes(32).toString('hex');
  const edgePort = options.edgePort || (await freePort());
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  const r2 = await localR2Binding();
  const edge = await startWranglerDev({
    config: EDGE_CONFIG,
    port: edgePort,
    persistTo: options.persistTo,
    vars: {
      ORIGIN_URL: `http://127.0.0.1:${options.originPort}`,
      NIXEDGE_SHARED_SECRET: secret,
      BLOB_REDIRECT: 'r2-public',
      R2_PUBLIC_URL: `${edgeUrl}/cdn-cgi/local/r2/public/${r2.bucket}`,
      ...options.vars,
    },
  });
  return {
    edge,
    secret,
    originEnv: {
      PORT: String(options.originPort),
      NIXERY_STORAGE_BACKEND: 's3',
      S3_ENDPOINT: `${edgeUrl}/cdn-cgi/local/r2/s3`,
      S3_BUCKET: r2.bucket,
      S3_REGION: 'auto',
      S3_ACCESS_KEY_ID: r2.accessKeyId,
      S3_SECRET_ACCESS_KEY: r2.secretAccessKey,
      EDGE_URL: edgeUrl,
      NIXEDGE_SHARED_SECRET: secret,
    },
  };
}
