/**
 * Checks once, when the origin starts, that nix can build on this machine: nix is installed, its
 * build users group exists when builds run as root, and its store is writable. A misconfigured
 * machine gets one start-up error naming the problem and the fix, instead of a 500 on every pull.
 */

import { execa, ExecaError } from 'execa';
import { z } from 'zod';

/** Nix cannot build here; the message says what is wrong and how to fix it. */
export class NixSetupError extends Error {
  override name = 'NixSetupError';
}

/** What the checks found, for the start-up log line. */
export interface NixInfo {
  /** `nix-store --version`, e.g. "nix-store (Nix) 2.8.0". */
  version: string;
  /** The store nix uses ("auto", "daemon", a URL). */
  store: string;
  /** The group builds run as when nix runs as root ("" = builds run as the caller). */
  buildUsersGroup: string;
}

const SETUP_HINT = 'run `sudo bash scripts/setup` (it creates the group nixbld and the build users nixbld1..10)';

const settingsSchema = z.object({
  'build-users-group': z.object({ value: z.string() }),
  store: z.object({ value: z.string() }),
});

/** Runs every check; resolves with what it found or throws a NixSetupError. */
export async function checkNix(env: NodeJS.ProcessEnv = process.env): Promise<NixInfo> {
  const version = await nixVersion(env);
  const settings = await nixSettings(env);
  const buildUsersGroup = settings['build-users-group'].value;
  const store = env['NIX_REMOTE'] || settings.store.value;
  // Only a root process building in its own store uses the group itself; a daemon uses its own.
  const buildsAsRoot = process.getuid?.() === 0 && (store === 'auto' || store === 'local');
  if (buildsAsRoot && buildUsersGroup !== '') await checkBuildUsersGroup(buildUsersGroup, env);
  await checkStoreWritable(env);
  return { version, store, buildUsersGroup };
}

/** `nix-store --version`, or the error saying nix is not installed. */
async function nixVersion(env: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout } = await execa('nix-store', ['--version'], { env, stdin: 'ignore' });
    return stdout.trim();
  } catch (error) {
    if (error instanceof ExecaError && error.code === 'ENOENT') {
      throw new NixSetupError(
        `Nix is not installed: nix-store was not found on PATH (${env['PATH'] ?? ''}). Fix: run \`sudo bash scripts/setup\` ` +
          "(it installs Debian's nix-bin and creates Nix's build users), or install Nix from https://nixos.org/download",
      );
    }
    throw new NixSetupError(`nix-store --version failed: ${firstLine(error)}`);
  }
}

/** Nix's effective settings (nix.conf, NIX_CONFIG and defaults), as nix itself reads them. */
async function nixSettings(env: NodeJS.ProcessEnv): Promise<z.infer<typeof settingsSchema>> {
  try {
    const { stdout } = await execa('nix', ['--extra-experimental-features', 'nix-command', 'show-config', '--json'], { env, stdin: 'ignore' });
    return settingsSchema.parse(JSON.parse(stdout));
  } catch (error) {
    throw new NixSetupError(`nix cannot read its configuration (nix show-config): ${firstLine(error)}`);
  }
}

/** The build users group must exist and have members, or nix refuses every build as root. */
async function checkBuildUsersGroup(group: string, env: NodeJS.ProcessEnv): Promise<void> {
  const { stdout, exitCode } = await execa('getent', ['group', group], { env, reject: false, stdin: 'ignore' });
  if (exitCode !== 0) {
    throw new NixSetupError(
      `Nix cannot build: its build users group "${group}" (build-users-group in nix.conf) does not exist, ` +
        `and nix running as root refuses every build without it. Fix: ${SETUP_HINT}, or name an existing group in build-users-group`,
    );
  }
  const members = stdout.trim().split(':')[3] ?? '';
  if (members.trim() === '') {
    throw new NixSetupError(
      `Nix cannot build: its build users group "${group}" has no members (nix builds as one of them, never as root). Fix: ${SETUP_HINT}`,
    );
  }
}

/** Writes a small file into the store, as every build will. */
async function checkStoreWritable(env: NodeJS.ProcessEnv): Promise<void> {
  try {
    await execa('nix-instantiate', ['--eval', '--read-write-mode', '-E', 'builtins.toFile "nixedge-preflight" "nixedge"'], { env, stdin: 'ignore' });
  } catch (error) {
    throw new NixSetupError(
      `Nix cannot write to its store: ${firstLine(error)}. Fix: run the origin as root (or as the store's owner), ` +
        'or through a running nix-daemon (NIX_REMOTE=daemon)',
    );
  }
}

/** The first error line nix printed, or the error's message. */
function firstLine(error: unknown): string {
  if (error instanceof ExecaError) {
    const lines = String(error.stderr ?? '').split('\n');
    const line = lines.find((l) => l.startsWith('error:')) ?? lines.find((l) => l.trim() !== '');
    if (line) return line.replace(/^error:\s*/, '').trim();
  }
  return error instanceof Error ? error.message : String(error);
}
