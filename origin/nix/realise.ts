/**
 * Realises derivations (builds or substitutes them) with nix-store, holding garbage-collector
 * roots on their outputs until the image's layers are stored: a `nix-collect-garbage` running
 * meanwhile must not delete store paths we are about to tar.
 */

import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNix } from './run.ts';

/** Where this process keeps its GC roots (nix registers them as indirect roots). */
const GC_ROOTS_DIR = join(tmpdir(), `nixedge-gcroots-${process.pid}`);

/** Roots held on a build's outputs; `release` lets the garbage collector have them again. */
export interface HeldRoots {
  release(): Promise<void>;
}

/** Builds the given .drv files and holds GC roots on their outputs until released. */
export async function realise(drvPaths: readonly string[], signal: AbortSignal): Promise<HeldRoots> {
  if (drvPaths.length === 0) return { release: async () => undefined };
  await mkdir(GC_ROOTS_DIR, { recursive: true });
  const name = randomUUID();
  const release = async (): Promise<void> => {
    // nix-store names the roots <name>, <name>-2, <name>-3 ... one per output.
    const held = (await readdir(GC_ROOTS_DIR)).filter((entry) => entry === name || entry.startsWith(`${name}-`));
    await Promise.all(held.map((entry) => rm(join(GC_ROOTS_DIR, entry), { force: true })));
  };
  try {
    await runNix('nix-store', ['--realise', '--add-root', join(GC_ROOTS_DIR, name), '--indirect', ...drvPaths], { signal });
  } catch (error) {
    await release();
    throw error;
  }
  return { release };
}

/** A short, client-safe reason for a failed build: the derivation names, never the build log. */
export function buildFailureReason(stderr: string): string {
  const failed = [...stderr.matchAll(/builder for '\/nix\/store\/[a-z0-9]{32}-([^']+)\.drv' failed/g)].map((m) => m[1]);
  const unsupported = /is required to build '.*', but I am a '([^']+)'/.exec(stderr);
  if (unsupported) return `this origin cannot build for that system (it is ${unsupported[1]})`;
  if (failed.length > 0) return `nix failed to build ${[...new Set(failed)].join(', ')}`;
  return 'nix failed to build the image';
}
