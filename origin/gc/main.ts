/**
 * `npm run gc -- --older-than 30d [--dry-run] [--grace 1h] [--edge-retention 7d]`: bucket garbage
 * collection (./collect.ts) on the storage the origin's environment names (origin/config.ts: the
 * same variables as `npm run origin`). Prints every object it deletes (or would) and the bytes.
 */

import { parseArgs } from 'node:util';
import { ConfigError, loadGcConfig, type StorageConfig } from '../config.ts';
import { createStorage } from '../storage/create-storage.ts';
import { collectGarbage } from './collect.ts';
import { formatDuration, parseDuration } from './duration.ts';
import { reportLines } from './report.ts';

const usage = 'usage: npm run gc -- --older-than <30d> [--dry-run] [--grace <1h>] [--edge-retention <7d>]';
const DAY_MS = 86_400_000;
/** Uploads in flight are minutes old; a day-old staging object was left by a crash. */
const STAGING_MAX_AGE_MS = DAY_MS;

/** Says what is wrong and how to call it, and exits 2. */
function refuse(message: string): never {
  process.stderr.write(`nixedge gc: ${message}\n${usage}\n`);
  process.exit(2);
}

/** Where the storage is, for the first line. */
function describeStorage(storage: StorageConfig): string {
  switch (storage.backend) {
    case 'filesystem':
      return `filesystem storage ${storage.path}`;
    case 's3':
      return `s3 bucket ${storage.bucket}${storage.endpoint ? ` at ${storage.endpoint}` : ''}`;
    case 'gcs':
      return `gcs bucket ${storage.bucket}${storage.endpoint ? ` at ${storage.endpoint}` : ''}`;
  }
}

/** Parses the arguments, checks them against the configuration, runs one collection and prints it. */
async function main(): Promise<void> {
  let values: { 'older-than'?: string; 'dry-run'?: boolean; grace?: string; 'edge-retention'?: string };
  try {
    ({ values } = parseArgs({
      options: {
        'older-than': { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        grace: { type: 'string', default: '1h' },
        'edge-retention': { type: 'string', default: '7d' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    refuse(error instanceof Error ? error.message : String(error));
  }
  if (values['older-than'] === undefined) refuse('--older-than is required (images not used for that long go)');
  let olderThanMs: number;
  let graceMs: number;
  let edgeRetentionMs: number;
  try {
    olderThanMs = parseDuration(values['older-than']);
    graceMs = parseDuration(values.grace ?? '1h');
    edgeRetentionMs = values['edge-retention'] === '0' ? 0 : parseDuration(values['edge-retention'] ?? '7d');
  } catch (error) {
    refuse(error instanceof Error ? error.message : String(error));
  }
  // The edge answers from KV for up to its retention without asking the origin: nothing it may
  // still serve can be older than that (plus a day for KV propagation and isolate memory).
  if (olderThanMs < edgeRetentionMs + DAY_MS) {
    refuse(
      `--older-than ${formatDuration(olderThanMs)} is shorter than the edge's KV retention (--edge-retention ${formatDuration(edgeRetentionMs)}, the Worker's KV_RETENTION_SECONDS) plus a day: ` +
        'the edge may still serve images that were not used at the origin for that long. Use a longer --older-than (or --edge-retention 0 for an origin without an edge)',
    );
  }
  const config = loadGcConfig();
  const longestBuildMs = 2 * config.nixTimeoutSeconds * 1000;
  if (!values['dry-run'] && graceMs < longestBuildMs) {
    refuse(`--grace ${formatDuration(graceMs)} is shorter than a build may take (2 x NIX_TIMEOUT = ${formatDuration(longestBuildMs)}): a build started before the collection could publish an image naming a deleted layer`);
  }
  const storage = await createStorage(config.storage);
  const now = Date.now();
  const cutoff = now - olderThanMs;
  process.stdout.write(
    `nixedge gc: ${describeStorage(config.storage)}; images not used for ${formatDuration(olderThanMs)} (since ${new Date(cutoff).toISOString()})` +
      `${values['dry-run'] ? '; dry run: nothing is deleted' : `; grace ${formatDuration(graceMs)} between marking and sweeping`}\n`,
  );
  const report = await collectGarbage({
    storage,
    cutoff,
    stagingCutoff: now - STAGING_MAX_AGE_MS,
    graceMs,
    dryRun: values['dry-run'] === true,
    onPhase: (phase) => {
      if (phase === 'grace') process.stderr.write(`nixedge gc: marked; sweeping in ${formatDuration(graceMs)}\n`);
    },
  });
  process.stdout.write(`${reportLines(report, new Date(cutoff)).join('\n')}\n`);
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`nixedge gc: ${error instanceof ConfigError ? message : `failed: ${message}`}\n`);
  process.exit(1);
});
