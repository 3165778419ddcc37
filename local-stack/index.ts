/**
 * The production topology in miniature, for `npm start` and the end-to-end tests: the edge
 * Worker under `wrangler dev` (local KV, local R2 whose S3 API the origin uploads to), and the
 * environment an origin needs to sit behind it (S3 storage on that R2, write-backs to the edge,
 * a shared secret generated for local use).
 *
 * Or, with `gcs` (from `startLocalGcs`), the GCS topology: the origin stores layers in the GCS
 * emulator (the Firebase storage emulator, in this process) and the edge redirects blob GETs to
 * V4 signed URLs on it (BLOB_REDIRECT=gcs-signed), signed with a throwaway service account whose
 * signatures our check in front of the emulator verifies (the emulator itself ignores them).
 */

import { generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGcsEmulator, type GcsEmulator } from './gcs-emulator.ts';
import { freePort, startWranglerDev, type WranglerDev } from './wrangler-dev.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
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
  /** Several origins' ports instead (ORIGIN_URLS, in this order); `originEnv` is then the first's, PORT aside. */
  originPorts?: number[];
  secret?: string;
  /** Extra Worker vars (e.g. TAG_TTL_SECONDS). */
  vars?: Record<string, string>;
  /** Store layers in this GCS (emulator) bucket, redirect to signed URLs on it; unset = local R2. */
  gcs?: LocalGcsTarget;
}

/** A GCS bucket for the local stack: where the origin stores, what the edge signs with. */
export interface LocalGcsTarget {
  /** The JSON API endpoint, `http://127.0.0.1:<port>`; also the host signed URLs target. */
  endpoint: string;
  bucket: string;
  projectId: string;
  /** The service account's JSON key file, the edge's GCS_SERVICE_ACCOUNT_KEY secret. */
  serviceAccountKey: string;
}

export interface LocalGcs {
  target: LocalGcsTarget;
  emulator: GcsEmulator;
  /** The throwaway service account the edge signs with. */
  account: LocalServiceAccount;
  /** Stops the emulator and drops its bytes. Idempotent. */
  stop(): Promise<void>;
}

export interface LocalServiceAccount {
  email: string;
  publicKey: KeyObject;
  /** The JSON key file (`type`, `client_email`, `private_key` as PKCS#8 PEM, ...), as GCS issues it. */
  keyFile: string;
}

/** A throwaway service account: a fresh RSA-2048 key pair and its JSON key file. Never leaves this machine. */
export async function localServiceAccount(email = 'nixedge-edge@nixedge-local.iam.gserviceaccount.com'): Promise<LocalServiceAccount> {
  const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const keyFile = JSON.stringify({
    type: 'service_account',
    project_id: 'nixedge-local',
    private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    client_email: email,
    client_id: '0'.repeat(21),
  });
  return { email, publicKey, keyFile };
}

/**
 * Starts the GCS emulator in this process with a throwaway service account. The emulator ignores
 * signatures; our check in front of it (gcs-emulator.ts `signedUrls`) requires and verifies V4
 * signed URLs (`GET /<bucket>/<object>?X-Goog-...`) by that account, as GCS would.
 */
export async function startLocalGcs(options: { bucket?: string } = {}): Promise<LocalGcs> {
  const account = await localServiceAccount();
  const emulator = await startGcsEmulator({ signedUrls: { publicKey: account.publicKey, serviceAccountEmail: account.email } });
  return {
    target: {
      endpoint: emulator.endpoint,
      bucket: options.bucket ?? 'nixedge-layers',
      projectId: emulator.projectId,
      serviceAccountKey: account.keyFile,
    },
    emulator,
    account,
    stop: () => emulator.stop(),
  };
}

/** The Worker vars and origin environment of one storage topology. */
interface StorageWiring {
  vars: Record<string, string>;
  originEnv: Record<string, string>;
}

/** Local R2: the origin uploads through wrangler's S3 API, the edge redirects to its public URL. */
async function r2Wiring(edgeUrl: string): Promise<StorageWiring> {
  const r2 = await localR2Binding();
  return {
    vars: { BLOB_REDIRECT: 'r2-public', R2_PUBLIC_URL: `${edgeUrl}/cdn-cgi/local/r2/public/${r2.bucket}` },
    originEnv: {
      NIXERY_STORAGE_BACKEND: 's3',
      S3_ENDPOINT: `${edgeUrl}/cdn-cgi/local/r2/s3`,
      S3_BUCKET: r2.bucket,
      S3_REGION: 'auto',
      S3_ACCESS_KEY_ID: r2.accessKeyId,
      S3_SECRET_ACCESS_KEY: r2.secretAccessKey,
    },
  };
}

/** GCS: the origin uses the JSON API (unauthenticated, an emulator), the edge signs V4 URLs. */
function gcsWiring(gcs: LocalGcsTarget): StorageWiring {
  return {
    vars: {
      BLOB_REDIRECT: 'gcs-signed',
      GCS_BUCKET: gcs.bucket,
      GCS_ENDPOINT: gcs.endpoint,
      GCS_SERVICE_ACCOUNT_KEY: gcs.serviceAccountKey, // a secret in production; a --var locally
    },
    originEnv: {
      NIXERY_STORAGE_BACKEND: 'gcs',
      GCS_BUCKET: gcs.bucket,
      GCS_ENDPOINT: gcs.endpoint,
      GOOGLE_CLOUD_PROJECT: gcs.projectId,
    },
  };
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

/** The base URLs the edge reaches local origins at (what ORIGIN_URLS holds, and rendezvous hashing hashes). */
export function originUrls(ports: readonly number[]): string[] {
  return ports.map((port) => `http://127.0.0.1:${port}`);
}

/** Starts the edge locally, wired to an origin at `originPort` (or to several, `originPorts`). */
export async function startLocalEdge(options: LocalEdgeOptions): Promise<LocalEdge> {
  const secret = options.secret ?? randomBytes(32).toString('hex');
  const edgePort = options.edgePort || (await freePort());
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  const storage = options.gcs ? gcsWiring(options.gcs) : await r2Wiring(edgeUrl);
  const edge = await startWranglerDev({
    config: EDGE_CONFIG,
    port: edgePort,
    persistTo: options.persistTo,
    vars: {
      ORIGIN_URL: `http://127.0.0.1:${options.originPort}`,
      ...(options.originPorts ? { ORIGIN_URLS: originUrls(options.originPorts).join(',') } : {}),
      NIXEDGE_SHARED_SECRET: secret,
      ...storage.vars,
      ...options.vars,
    },
  });
  return {
    edge,
    secret,
    originEnv: {
      PORT: String(options.originPort),
      ...storage.originEnv,
      EDGE_URL: edgeUrl,
      NIXEDGE_SHARED_SECRET: secret,
    },
  };
}
