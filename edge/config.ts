/** The edge's configuration, read from its bindings and validated once per isolate. */

import { z } from 'zod';
import { RegistryError } from '../shared/errors.ts';
import type { Bindings } from './env.ts';

export type BlobRedirect =
  | { mode: 'r2-public'; publicUrl: string }
  | { mode: 'r2-presigned'; endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string; expirySeconds: number }
  | { mode: 'origin'; originUrl: string };

export interface EdgeConfig {
  originUrl: string;
  sharedSecret: string | undefined;
  tagTtlSeconds: number;
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

const schema = z.object({
  ORIGIN_URL: url,
  ORIGIN_PUBLIC_URL: url.optional(),
  NIXEDGE_SHARED_SECRET: z.string().min(32, 'Expected NIXEDGE_SHARED_SECRET to be at least 32 characters').optional(),
  TAG_TTL_SECONDS: seconds(300, 60, 31_536_000),
  BLOB_REDIRECT: z.enum(['r2-public', 'r2-presigned', 'origin']),
  R2_PUBLIC_URL: z.string().optional(),
  R2_S3_ENDPOINT: z.string().optional(),
  R2_BUCKET: z.string().optional(),
  R2_ACCESS_KEY_ID: z.string().optional(),
  R2_SECRET_ACCESS_KEY: z.string().optional(),
  PRESIGN_EXPIRY_SECONDS: seconds(3600, 1, 604_800),
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
  const config: EdgeConfig = {
    originUrl: vars.ORIGIN_URL,
    sharedSecret: vars.NIXEDGE_SHARED_SECRET,
    tagTtlSeconds: vars.TAG_TTL_SECONDS,
    blobRedirect: blobRedirect(vars),
  };
  cache.set(env, config);
  return config;
}

function blobRedirect(vars: z.infer<typeof schema>): BlobRedirect {
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
    case 'origin':
      return { mode: 'origin', originUrl: vars.ORIGIN_PUBLIC_URL ?? vars.ORIGIN_URL };
  }
}
