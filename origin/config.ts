/**
 * The origin's configuration: the only reader of process.env. Variable names are Nixery's where
 * Nixery has one, so its operators can switch without renaming anything.
 */

import { availableParallelism, homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { NIXPKGS_LOCATIONS, type PackageSource } from './nix/source.ts';
import { PLATFORMS, type Platform } from '../shared/platforms.ts';
import { LAYER_COMPRESSIONS, type LayerCompression } from '../shared/media-types.ts';
import { CODEC_LEVELS } from './tarball/codec.ts';

export type StorageConfig =
  | { backend: 'filesystem'; path: string }
  | {
      backend: 's3';
      /** Unset = AWS S3; R2: https://<account>.r2.cloudflarestorage.com; locally wrangler's /cdn-cgi/local/r2/s3. */
      endpoint: string | undefined;
      bucket: string;
      region: string;
      accessKeyId: string;
      secretAccessKey: string;
      forcePathStyle: boolean;
      /** How long one request may wait on a store that stopped answering (STORAGE_TIMEOUT_SECONDS). */
      idleTimeoutMs: number;
    }
  | {
      backend: 'gcs';
      bucket: string;
      /** GOOGLE_CLOUD_PROJECT; unset = detected from the credentials (object access needs none). */
      projectId: string | undefined;
      /** A service account key file (GOOGLE_APPLICATION_CREDENTIALS); unset = Application Default Credentials. */
      keyFilename: string | undefined;
      /** Unset = Google Cloud Storage; an emulator's URL for local runs (then unauthenticated unless keyFilename is set). */
      endpoint: string | undefined;
      /** How long one request may wait on a store that stopped answering (STORAGE_TIMEOUT_SECONDS). */
      idleTimeoutMs: number;
    };

export interface OriginConfig {
  port: number;
  host: string;
  source: PackageSource;
  storage: StorageConfig;
  /** The origin's own cache on local disk (git repositories of NIXERY_PKGS_REPO). */
  cacheDir: string;
  /** Seconds one image's nix run (evaluation, build, graph) may take. */
  nixTimeoutSeconds: number;
  /** A URL or a path to Nixery's popularity data; undefined = no popularity data. */
  popularityUrl: string | undefined;
  /** Most store-path layers per image; the customisation layer comes on top. */
  layerBudget: number;
  gzipLevel: number;
  /** How layers are compressed unless the image name says `zstd` (LAYER_COMPRESSION). */
  layerCompression: LayerCompression;
  zstdLevel: number;
  /** Layers compressed and uploaded at once within one build. */
  layerConcurrency: number;
  maxConcurrentBuilds: number;
  /** The platforms an image name without one is built for (NIXEDGE_PLATFORMS): several make an index. */
  platforms: Platform[];
  /** Largest closure (sum of nar sizes) an image may hold, in bytes; 0 = no limit. */
  maxImageBytes: number;
  /** Evaluations at once; they never wait for build slots. */
  maxConcurrentEvaluations: number;
  maxQueuedBuilds: number;
  logLevel: string;
  /** Scheduled collection of the Nix store (origin/nix/store-gc.ts); off when minFreeBytes is 0. */
  nixGc: { storeDir: string; minFreeBytes: number; maxFreeBytes: number; checkIntervalSeconds: number };
  /** The edge in front of this origin: signed requests from it, write-backs to it (shared/signing.ts, shared/protocol.ts). */
  edge: {
    /** HMAC secret shared with the edge; when set, manifest requests by tag must be signed. */
    sharedSecret?: string;
    /** The edge's base URL; write-backs are sent only when it and the secret are set. */
    url?: string;
    /** Attempts per write-back, the first included. */
    writeBackAttempts: number;
  };
  /** Where Prometheus metrics are served (metrics/metrics-endpoint.ts): with a token on PORT, on a port of their own, both or neither. */
  metrics: { token: string | undefined; port: number | undefined; host: string };
}

/** Thrown for a configuration the origin cannot start with; the message says what to set. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

/** A decimal integer; unset or empty means `fallback` (`PORT=` must not mean port 0). */
const integer = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((value) => (value === undefined || value.trim() === '' ? fallback : /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN))
    .pipe(z.number({ message: 'Expected a whole number' }).int().min(min).max(max));

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** A size in bytes: a whole number with an optional K, M, G or T (binary multiples); unset or empty means `fallback`. */
const size = (fallback: number | undefined) =>
  z
    .string()
    .optional()
    .transform((value, context) => {
      if (value === undefined || value.trim() === '') return fallback;
      const match = /^\s*(\d+)\s*([KMGT]?)i?B?\s*$/i.exec(value);
      if (!match) {
        context.addIssue({ code: 'custom', message: 'Expected a size in bytes, e.g. 10G, 512M or 1000000' });
        return z.NEVER;
      }
      return Number(match[1]) * (SIZE_UNITS[(match[2] ?? '').toUpperCase()] ?? 1);
    });

/** The shared secret, taken verbatim (both sides must hold the same bytes); blank = unset. */
const sharedSecret = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value))
  .pipe(z.string().min(32, { message: 'Expected at least 32 characters (e.g. `openssl rand -hex 32`)' }).optional());

/** An http(s) base URL without a trailing slash; blank = unset. */
const baseUrl = optionalString.pipe(
  z
    .string()
    .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), { message: 'Expected an http(s) URL' })
    .transform((value) => value.replace(/\/+$/, ''))
    .optional(),
);

const envSchema = z.object({
  PORT: integer(8080, 0, 65535),
  HOST: z.string().default('0.0.0.0'),
  NIXERY_PKGS_PATH: optionalString,
  NIXERY_PKGS_REPO: optionalString,
  NIXERY_CHANNEL: optionalString,
  NIXEDGE_CHANNELS_URL: baseUrl,
  NIXEDGE_NIXPKGS_ARCHIVE_URL: baseUrl,
  NIXEDGE_NIXPKGS_GIT_URL: optionalString,
  NIXERY_STORAGE_BACKEND: z
    .enum(['filesystem', 's3', 'gcs'], {
      message: 'Expected NIXERY_STORAGE_BACKEND to be "filesystem", "s3" (R2 and any S3-compatible store) or "gcs" (Google Cloud Storage)',
    })
    .default('filesystem'),
  STORAGE_PATH: optionalString,
  NIXEDGE_CACHE_DIR: optionalString,
  XDG_CACHE_HOME: optionalString,
  S3_ENDPOINT: baseUrl,
  S3_BUCKET: optionalString,
  S3_REGION: optionalString,
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false', '']).optional(),
  GCS_BUCKET: optionalString,
  GCS_ENDPOINT: baseUrl,
  GOOGLE_APPLICATION_CREDENTIALS: optionalString,
  GOOGLE_CLOUD_PROJECT: optionalString,
  STORAGE_TIMEOUT_SECONDS: integer(30, 1, 600),
  NIX_TIMEOUT: integer(60, 1, 86400),
  NIX_POPULARITY_URL: optionalString,
  LAYER_BUDGET: integer(94, 1, 120),
  GZIP_LEVEL: integer(CODEC_LEVELS.gzip.default, 1, CODEC_LEVELS.gzip.max),
  LAYER_COMPRESSION: z
    .enum(LAYER_COMPRESSIONS, {
      message: 'Expected LAYER_COMPRESSION to be "gzip" (every client) or "zstd" (OCI clients that read zstd: containerd 1.5+, podman, skopeo, crane, Docker 23+)',
    })
    .default('gzip'),
  ZSTD_LEVEL: integer(CODEC_LEVELS.zstd.default, CODEC_LEVELS.zstd.min, CODEC_LEVELS.zstd.max),
  LAYER_CONCURRENCY: integer(Math.max(2, availableParallelism()), 1, 64),
  MAX_CONCURRENT_BUILDS: integer(2, 1, 64),
  MAX_QUEUED_BUILDS: integer(32, 0, 10000),
  MAX_IMAGE_SIZE_MB: integer(0, 0, 10_000_000),
  NIXEDGE_PLATFORMS: z
    .string()
    .optional()
    .transform((value) => (value === undefined || value.trim() === '' ? ['linux/amd64'] : value.split(',').map((part) => part.trim())))
    .pipe(
      z
        .array(z.string().refine((name) => Object.hasOwn(PLATFORMS, name), { message: `Expected platforms among ${Object.keys(PLATFORMS).join(', ')}` }))
        .min(1)
        .refine((names) => new Set(names).size === names.length, { message: 'Expected each platform once' }),
    ),
  MAX_CONCURRENT_EVALUATIONS: integer(Math.max(2, availableParallelism()), 1, 64),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NIXEDGE_SHARED_SECRET: sharedSecret,
  EDGE_URL: baseUrl,
  WRITE_BACK_ATTEMPTS: integer(6, 1, 20),
  NIX_GC_MIN_FREE: size(0),
  NIX_GC_MAX_FREE: size(undefined),
  NIX_GC_CHECK_SECONDS: integer(60, 1, 86400),
  NIX_STORE_DIR: optionalString,
  METRICS_TOKEN: optionalString.pipe(z.string().min(16, { message: 'Expected at least 16 characters (e.g. `openssl rand -hex 32`)' }).optional()),
  METRICS_PORT: optionalString.pipe(z.string().regex(/^\d+$/, 'Expected a port number').transform(Number).pipe(z.number().int().min(0).max(65535)).optional()),
  METRICS_HOST: z.string().default('127.0.0.1'),
});

/** The environment, validated, or a ConfigError naming every problem. */
function parseEnv(env: NodeJS.ProcessEnv): z.infer<typeof envSchema> {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

/** What `npm run gc` (origin/gc/) needs of the origin's configuration: its storage, and how long a build may take. */
export function loadGcConfig(env: NodeJS.ProcessEnv = process.env): { storage: StorageConfig; nixTimeoutSeconds: number } {
  const vars = parseEnv(env);
  return { storage: storageConfig(vars), nixTimeoutSeconds: vars.NIX_TIMEOUT };
}

/** Reads and validates the configuration, or throws a ConfigError naming every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): OriginConfig {
  const vars = parseEnv(env);
  const sources: PackageSource[] = [];
  if (vars.NIXERY_PKGS_PATH) sources.push({ kind: 'path', path: resolve(vars.NIXERY_PKGS_PATH) });
  if (vars.NIXERY_PKGS_REPO) sources.push({ kind: 'git', url: vars.NIXERY_PKGS_REPO });
  if (vars.NIXERY_CHANNEL) {
    sources.push({
      kind: 'channel',
      channel: vars.NIXERY_CHANNEL,
      nixpkgs: {
        channels: vars.NIXEDGE_CHANNELS_URL ?? NIXPKGS_LOCATIONS.channels,
        archive: vars.NIXEDGE_NIXPKGS_ARCHIVE_URL ?? NIXPKGS_LOCATIONS.archive,
        git: vars.NIXEDGE_NIXPKGS_GIT_URL ?? NIXPKGS_LOCATIONS.git,
      },
    });
  }
  const [source] = sources;
  if (sources.length !== 1 || source === undefined) {
    throw new ConfigError(
      `Expected exactly one package source: NIXERY_PKGS_PATH (a local package set), NIXERY_PKGS_REPO (a git repository) or NIXERY_CHANNEL (a nixpkgs channel), got ${sources.length === 0 ? 'none' : sources.map((s) => s.kind).join(' and ')}`,
    );
  }
  return {
    port: vars.PORT,
    host: vars.HOST,
    source,
    storage: storageConfig(vars),
    cacheDir: resolve(vars.NIXEDGE_CACHE_DIR ?? join(vars.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'nixedge')),
    nixTimeoutSeconds: vars.NIX_TIMEOUT,
    popularityUrl: vars.NIX_POPULARITY_URL,
    layerBudget: vars.LAYER_BUDGET,
    gzipLevel: vars.GZIP_LEVEL,
    layerCompression: vars.LAYER_COMPRESSION,
    zstdLevel: vars.ZSTD_LEVEL,
    layerConcurrency: vars.LAYER_CONCURRENCY,
    maxConcurrentBuilds: vars.MAX_CONCURRENT_BUILDS,
    maxQueuedBuilds: vars.MAX_QUEUED_BUILDS,
    maxConcurrentEvaluations: vars.MAX_CONCURRENT_EVALUATIONS,
    maxImageBytes: vars.MAX_IMAGE_SIZE_MB * 1_000_000,
    platforms: vars.NIXEDGE_PLATFORMS.map((name) => PLATFORMS[name]!),
    logLevel: vars.LOG_LEVEL,
    nixGc: nixGcConfig(vars),
    edge: {
      ...(vars.NIXEDGE_SHARED_SECRET === undefined ? {} : { sharedSecret: vars.NIXEDGE_SHARED_SECRET }),
      ...(vars.EDGE_URL === undefined ? {} : { url: vars.EDGE_URL }),
      writeBackAttempts: vars.WRITE_BACK_ATTEMPTS,
    },
    metrics: { token: vars.METRICS_TOKEN, port: vars.METRICS_PORT, host: vars.METRICS_HOST },
  };
}

/** The store collection's settings: NIX_GC_MAX_FREE defaults to twice NIX_GC_MIN_FREE, and may not be below it. */
function nixGcConfig(vars: z.infer<typeof envSchema>): OriginConfig['nixGc'] {
  const minFreeBytes = vars.NIX_GC_MIN_FREE ?? 0;
  const maxFreeBytes = vars.NIX_GC_MAX_FREE ?? 2 * minFreeBytes;
  if (maxFreeBytes < minFreeBytes) throw new ConfigError(`Expected NIX_GC_MAX_FREE (${maxFreeBytes} bytes) to be at least NIX_GC_MIN_FREE (${minFreeBytes} bytes)`);
  return { storeDir: vars.NIX_STORE_DIR ?? '/nix/store', minFreeBytes, maxFreeBytes, checkIntervalSeconds: vars.NIX_GC_CHECK_SECONDS };
}

/** The storage backend's settings, or a ConfigError naming what is missing. */
function storageConfig(vars: z.infer<typeof envSchema>): StorageConfig {
  if (vars.NIXERY_STORAGE_BACKEND === 'filesystem') {
    if (!vars.STORAGE_PATH) {
      throw new ConfigError('Expected STORAGE_PATH (a directory for layers and manifests) with NIXERY_STORAGE_BACKEND=filesystem');
    }
    return { backend: 'filesystem', path: resolve(vars.STORAGE_PATH) };
  }
  if (vars.NIXERY_STORAGE_BACKEND === 'gcs') {
    if (!vars.GCS_BUCKET) {
      throw new ConfigError('Expected GCS_BUCKET (the bucket for layers and manifests, e.g. Nixery\'s) with NIXERY_STORAGE_BACKEND=gcs');
    }
    return {
      backend: 'gcs',
      bucket: vars.GCS_BUCKET,
      projectId: vars.GOOGLE_CLOUD_PROJECT,
      keyFilename: vars.GOOGLE_APPLICATION_CREDENTIALS === undefined ? undefined : resolve(vars.GOOGLE_APPLICATION_CREDENTIALS),
      endpoint: vars.GCS_ENDPOINT,
      idleTimeoutMs: vars.STORAGE_TIMEOUT_SECONDS * 1000,
    };
  }
  const missing = ['S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'].filter((name) => !vars[name as keyof typeof vars]);
  if (missing.length > 0) throw new ConfigError(`Expected ${missing.join(', ')} with NIXERY_STORAGE_BACKEND=s3`);
  return {
    backend: 's3',
    endpoint: vars.S3_ENDPOINT,
    bucket: vars.S3_BUCKET ?? '',
    region: vars.S3_REGION ?? 'auto',
    accessKeyId: vars.S3_ACCESS_KEY_ID ?? '',
    secretAccessKey: vars.S3_SECRET_ACCESS_KEY ?? '',
    // Path style unless told otherwise: R2 and local endpoints want it; AWS accepts it.
    forcePathStyle: vars.S3_FORCE_PATH_STYLE !== 'false',
    idleTimeoutMs: vars.STORAGE_TIMEOUT_SECONDS * 1000,
  };
}
