/**
 * Runs one nix command through execa in its own process group, so that a timeout or a cancelled
 * build kills nix and everything it started, not just the top process. nix also gets a
 * parent-death signal (`setpriv --pdeathsig TERM`, util-linux): when the origin dies, even by
 * SIGKILL or the OOM killer, nix is told to stop, stops its builders and releases its locks, so a
 * restarted origin can build the same image at once instead of waiting on orphans.
 */

import { existsSync } from 'node:fs';
import { execa, ExecaError } from 'execa';

/** A nix command that failed, timed out or was cancelled. `stderr` is for logs, never for clients. */
export class NixError extends Error {
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly stderr: string;
  readonly timedOut: boolean;

  constructor(message: string, options: { command: string; exitCode?: number; stderr: string; timedOut: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'NixError';
    this.command = options.command;
    this.exitCode = options.exitCode;
    this.stderr = options.stderr;
    this.timedOut = options.timedOut;
  }
}

export interface RunOptions {
  /** Aborted when the build's deadline passes or the build is cancelled. */
  signal: AbortSignal;
  /** Extra environment for nix. */
  env?: Record<string, string>;
}

/** Whether util-linux's setpriv (with --pdeathsig) is here; without it nix runs as is. */
const SETPRIV = '/usr/bin/setpriv';
const hasSetpriv = existsSync(SETPRIV);

/** The command that runs `file args` with SIGTERM as its parent-death signal, where setpriv exists. */
export function withParentDeathSignal(file: string, args: readonly string[]): [string, string[]] {
  return hasSetpriv ? [SETPRIV, ['--pdeathsig', 'TERM', '--', file, ...args]] : [file, [...args]];
}

/** How long nix gets to clean up after SIGTERM before the whole group is SIGKILLed. */
const KILL_GRACE_MS = 3000;

/** Runs `file args` and resolves with its stdout; rejects with a NixError. */
export async function runNix(file: string, args: readonly string[], options: RunOptions): Promise<string> {
  const command = [file, ...args.map((a) => (a.length > 200 ? `${a.slice(0, 200)}...` : a))].join(' ');
  if (options.signal.aborted) throw abortedError(command, options.signal);
  const [command0, args0] = withParentDeathSignal(file, args);
  const subprocess = execa(command0, args0, {
    detached: true,
    cleanup: true,
    stdin: 'ignore',
    env: options.env,
    maxBuffer: 256 * 1024 * 1024,
  });
  const killGroup = (): void => killProcessGroup(subprocess.pid);
  options.signal.addEventListener('abort', killGroup, { once: true });
  try {
    const result = await subprocess;
    return result.stdout;
  } catch (error) {
    if (options.signal.aborted) throw abortedError(command, options.signal, error);
    if (error instanceof ExecaError) {
      throw new NixError(`${file} failed with exit code ${error.exitCode ?? 'none'}`, {
        command,
        exitCode: error.exitCode,
        stderr: typeof error.stderr === 'string' ? error.stderr : '',
        timedOut: false,
        cause: error,
      });
    }
    throw error;
  } finally {
    options.signal.removeEventListener('abort', killGroup);
  }
}

/** SIGTERM to the group (nix then stops its builders), SIGKILL to whatever is left. */
function killProcessGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  signalGroup(pid, 'SIGTERM');
  setTimeout(() => signalGroup(pid, 'SIGKILL'), KILL_GRACE_MS).unref();
}

/** Sends a signal to a process group, ignoring a group that is already gone. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group has exited already.
  }
}

/** The error for a command stopped by its signal: a timeout or a cancellation. */
function abortedError(command: string, signal: AbortSignal, cause?: unknown): NixError {
  const reason: unknown = signal.reason;
  const timedOut = reason instanceof DOMException && reason.name === 'TimeoutError';
  const stderr = cause instanceof ExecaError && typeof cause.stderr === 'string' ? cause.stderr : '';
  return new NixError(timedOut ? 'nix timed out' : 'nix was cancelled', { command, stderr, timedOut, cause });
}
