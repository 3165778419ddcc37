/**
 * Runs the real origin (`node origin/main.ts`) as a child process for end-to-end tests: a fresh
 * port, its JSON log lines collected so tests can count build steps.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ORIGIN_MAIN = fileURLToPath(new URL('../origin/main.ts', import.meta.url));
/**
 * Node flags of the origin, the same as package.json's `origin` script: semi-spaces of 2 MiB (Node
 * 24 lets its young generation grow to 128 MiB on a machine of 24 GiB), since a build's garbage is
 * short-lived chunks; this takes 20-30 MB off a cold build's peak RSS at no measurable cost in time.
 */
export const ORIGIN_NODE_FLAGS = ['--max-semi-space-size=2'] as const;
export const FIXTURE_PKGS = fileURLToPath(new URL('../test/fixtures/pkgs', import.meta.url));
/** Where every origin's whole output is kept, one file per process, to read after a failure. */
export const ORIGIN_LOG_DIR = process.env['NIXEDGE_TEST_LOGS'] ?? join(tmpdir(), 'nixedge-test-logs');

export interface LogLine {
  msg?: string;
  step?: string;
  durationMs?: number;
  /** performance.now() in this process when the line arrived (for timelines in benchmarks). */
  receivedAt: number;
  [field: string]: unknown;
}

export interface RunningOrigin {
  /** The origin's process id (benchmarks sample /proc/<pid>). */
  pid: number;
  url: string;
  /** host:port, as registry clients spell it. */
  host: string;
  logs: LogLine[];
  /** The file holding everything the origin printed (stdout and stderr). */
  logFile: string;
  stderr: () => string;
  /** Log lines of one build step ("evaluate", "realise", "layer", ...). */
  steps: (step: string) => LogLine[];
  /** Resolves with the first log line (so far or to come, within 10 s) that `matches`: lines arrive through a pipe, after the answer they belong to. */
  waitForLog: (matches: (line: LogLine) => boolean) => Promise<LogLine>;
  /** Stops the origin (SIGTERM: graceful; SIGKILL: a crash) and waits for it to exit. */
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

/**
 * Starts an origin with `env` (plus PORT=0) and resolves once it listens. `wrapper` runs it
 * through another command (e.g. `unshare ... sh -c '...; exec "$0" "$@"'`), which must exec it so
 * its pid stays the origin's.
 */
export async function startOrigin(env: Record<string, string>, wrapper: readonly string[] = []): Promise<RunningOrigin> {
  const [file = process.execPath, ...args] = [...wrapper, process.execPath, ...ORIGIN_NODE_FLAGS, ORIGIN_MAIN];
  const child = spawn(file, args, {
    // No binary cache can be reached here: asking for one only costs time.
    env: { ...process.env, NIX_CONFIG: 'substituters =', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('Expected the origin process to start');
  const pid = child.pid;
  const logs: LogLine[] = [];
  let stderr = '';
  mkdirSync(ORIGIN_LOG_DIR, { recursive: true });
  const logFile = join(ORIGIN_LOG_DIR, `origin-${pid}.log`);
  const logStream = createWriteStream(logFile);
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    logStream.write(chunk);
  });
  child.once('exit', () => logStream.end());
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      logStream.write(`${line}\n`);
      let parsed: LogLine;
      try {
        parsed = { ...(JSON.parse(line) as Record<string, unknown>), receivedAt: performance.now() };
      } catch {
        return;
      }
      logs.push(parsed);
      if (typeof parsed['port'] === 'number' && String(parsed.msg).includes('listening')) resolve(parsed['port']);
    });
    child.once('exit', (code) => reject(new Error(`origin exited with ${code} before listening: ${stderr}`)));
  });
  return {
    pid,
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    logs,
    logFile,
    stderr: () => stderr,
    steps: (step) => logs.filter((line) => line.step === step),
    waitForLog: async (matches) => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const found = logs.find(matches);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`Expected a matching log line from the origin within 10 s (log: ${logFile})`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    stop: (signal = 'SIGTERM') => stopChild(child, signal),
  };
}

/** Stops the origin and waits for it to exit. */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

/** Runs the origin expecting it to refuse to start; resolves with its exit code and stderr. */
export async function originStartFailure(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [...ORIGIN_NODE_FLAGS, ORIGIN_MAIN], { env: { PATH: process.env['PATH'] ?? '', PORT: '0', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}
