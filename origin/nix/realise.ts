/** Realises derivations (builds or substitutes them) with nix-store. */

import { runNix } from './run.ts';

/** Builds the given .drv files; resolves when all their outputs exist in the store. */
export async function realise(drvPaths: readonly string[], signal: AbortSignal): Promise<void> {
  if (drvPaths.length === 0) return;
  await runNix('nix-store', ['--realise', ...drvPaths], { signal });
}

/** A short, client-safe reason for a failed build: the derivation names, never the build log. */
export function buildFailureReason(stderr: string): string {
  const failed = [...stderr.matchAll(/builder for '\/nix\/store\/[a-z0-9]{32}-([^']+)\.drv' failed/g)].map((m) => m[1]);
  const unsupported = /is required to build '.*', but I am a '([^']+)'/.exec(stderr);
  if (unsupported) return `this origin cannot build for that system (it is ${unsupported[1]})`;
  if (failed.length > 0) return `nix failed to build ${[...new Set(failed)].join(', ')}`;
  return 'nix failed to build the image';
}
