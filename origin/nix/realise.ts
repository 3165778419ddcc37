/**
 * Realises derivations (builds or substitutes them) with nix-store, holding garbage-collector
 * roots on their outputs until the image's layers are stored: a `nix-collect-garbage` running
 * meanwhile must not delete store paths we are about to tar. Before that, an evaluation's .drv
 * files are held the same way (holdDerivations) while the build waits for its slot.
 */

import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNix } from './run.ts';

/** Where this process keeps its GC roots (nix registers them as indirect roots). */
const GC_ROOTS_DIR = join(tmpdir(), `nixedge-gcroots-${process.pid}`);

/** Roots held on store paths; `release` (or leaving an `await using` scope) lets the garbage collector have them again. */
export interface HeldRoots extends AsyncDisposable {
  release(): Promise<void>;
}

/** No roots: nothing to release. */
const NO_ROOTS: HeldRoots = { release: async () => undefined, [Symbol.asyncDispose]: async () => undefined };

/** A fresh root name in GC_ROOTS_DIR, and the roots nix makes under it (<name>, <name>-2, ... one per path). */
async function rootsNamed(): Promise<{ root: string; held: HeldRoots }> {
  await mkdir(GC_ROOTS_DIR, { recursive: true });
  const name = randomUUID();
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    const held = (await readdir(GC_ROOTS_DIR)).filter((entry) => entry === name || entry.startsWith(`${name}-`));
    await Promise.all(held.map((entry) => rm(join(GC_ROOTS_DIR, entry), { force: true })));
  };
  return { root: join(GC_ROOTS_DIR, name), held: { release, [Symbol.asyncDispose]: release } };
}

/**
 * Holds GC roots on .drv files (and so on what building them needs: input derivations and
 * sources) until released. nix-store roots only the outputs of a .drv it is given, so the root
 * goes on a small derivation of our own that is never built: its inputs are the .drv files, and
 * nix-instantiate roots the .drv it writes, in the same call that writes it.
 */
export async function holdDerivations(drvPaths: readonly string[], signal: AbortSignal): Promise<HeldRoots> {
  if (drvPaths.length === 0) return NO_ROOTS;
  // The paths reach nix as data (JSON in the environment), never as Nix source.
  const expression =
    'derivation { name = "nixedge-derivations"; system = "nixedge"; builder = "nixedge"; derivations = map builtins.storePath (builtins.fromJSON (builtins.getEnv "NIXEDGE_DERIVATIONS")); }';
  const env = { NIXEDGE_DERIVATIONS: JSON.stringify([...new Set(drvPaths)].sort()) };
  const { root, held } = await rootsNamed();
  try {
    await runNix('nix-instantiate', ['--add-root', root, '--indirect', '-E', expression], { signal, env });
  } catch (error) {
    await held.release();
    throw error;
  }
  return held;
}

/** Builds the given .drv files and holds GC roots on their outputs until released. */
export async function realise(drvPaths: readonly string[], signal: AbortSignal): Promise<HeldRoots> {
  if (drvPaths.length === 0) return NO_ROOTS;
  const { root, held } = await rootsNamed();
  const { release } = held;
  try {
    await runNix('nix-store', ['--realise', '--add-root', root, '--indirect', ...drvPaths], { signal });
  } catch (error) {
    await release();
    throw error;
  }
  return held;
}

/** What a failed `nix-store --realise` says about whose failure it is, in client-safe words. */
export type BuildFailure =
  /** A derivation of the requested closure failed to build: the request's. */
  | { kind: 'build-failed'; derivations: string[]; drvPaths: string[]; exitCode: number }
  /** The machine cannot build for the system the image asks for: the request asks what this registry cannot do. */
  | { kind: 'unsupported-system'; wanted: string; machine: string }
  /** A download the build needed failed (a substituter, a fetch): the server's, worth retrying. */
  | { kind: 'download-failed' }
  /** The machine ran out of disk: the server's, worth retrying later. */
  | { kind: 'disk-full' }
  /** A builder was killed by a signal (the OOM killer, a shutdown): the server's, worth retrying. */
  | { kind: 'killed'; signal: number }
  /** Anything else: the server's. */
  | { kind: 'other' };

/** Reads nix's stderr of a failed realise (for logs only: clients get the classification). */
export function classifyBuildFailure(stderr: string): BuildFailure {
  if (/No space left on device/i.test(stderr)) return { kind: 'disk-full' };
  // A fetch inside a (fixed-output) builder fails like a build, with curl's or nix's words in its log.
  if (/unable to download|cannot download|Could not resolve host|Failed to connect to|HTTP error \d{3}|curl: \(\d+\)|error: some substitutes/i.test(stderr)) {
    return { kind: 'download-failed' };
  }
  const unsupported = /a '([^']+)' with features .* is required to build '.*', but I am a '([^']+)'/.exec(stderr) ?? /is required to build '.*', but I am a '([^']+)'/.exec(stderr);
  if (unsupported) {
    return unsupported.length === 3 ? { kind: 'unsupported-system', wanted: unsupported[1]!, machine: unsupported[2]! } : { kind: 'unsupported-system', wanted: 'that system', machine: unsupported[1]! };
  }
  // Only a builder that exited with a code failed on its own; one "failed due to signal" was killed
  // (the OOM killer, an origin shutting down, a kill of its process group).
  const failed = [...stderr.matchAll(/builder for '(\/nix\/store\/[a-z0-9]{32}-([^']+)\.drv)' failed with exit code (\d+)/g)];
  if (failed.length > 0) {
    return {
      kind: 'build-failed',
      derivations: [...new Set(failed.map((match) => match[2]!))],
      drvPaths: [...new Set(failed.map((match) => match[1]!))],
      exitCode: Number(failed[0]![3]),
    };
  }
  const killed = /builder for '[^']+' failed due to signal (\d+)/.exec(stderr);
  if (killed) return { kind: 'killed', signal: Number(killed[1]) };
  return { kind: 'other' };
}

/** Which of `requested` (package name -> .drv) need one of `failedDrvPaths` (their build closure holds it). */
export async function packagesNeeding(requested: ReadonlyMap<string, string>, failedDrvPaths: readonly string[], signal: AbortSignal): Promise<string[]> {
  const needing: string[] = [];
  for (const [name, drvPath] of requested) {
    const closure = new Set((await runNix('nix-store', ['--query', '--requisites', drvPath], { signal })).split('\n'));
    if (failedDrvPaths.some((failed) => closure.has(failed))) needing.push(name);
  }
  return needing;
}
