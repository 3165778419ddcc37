/**
 * Helpers shared by the parts of `npm run bench` (bench/origin.ts, edge.ts, storage.ts): the local
 * stack's origin runner (local-stack/origin-process.ts: its pid for /proc sampling, the arrival time
 * of each JSON log line) tied to cleanup, a plain node:http GET with no client-side timeout (a cold
 * build may take minutes), /proc readers, statistics, settings from the environment, progress
 * lines and cleanup on success, error and signals.
 */

import { readFile, readdir, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { startOrigin, type LogLine, type RunningOrigin } from '../local-stack/origin-process.ts';

export type { LogLine };

export interface BenchOrigin extends Omit<RunningOrigin, 'stop'> {
  stop: () => Promise<void>;
}

/** Everything to undo on exit, in reverse order of registration; run even on error or signal. */
export class Cleanup {
  readonly #tasks: Array<{ name: string; run: () => Promise<void> }> = [];

  add(name: string, run: () => Promise<void>): () => void {
    const task = { name, run };
    this.#tasks.push(task);
    return () => {
      const index = this.#tasks.indexOf(task);
      if (index >= 0) this.#tasks.splice(index, 1);
    };
  }

  /** Runs every pending task, newest first; a failing task is reported and the rest still run. */
  async runAll(): Promise<void> {
    while (this.#tasks.length > 0) {
      const task = this.#tasks.pop()!;
      try {
        await task.run();
      } catch (error) {
        process.stderr.write(`bench: cleanup of ${task.name} failed: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    }
  }
}

/** Removes a directory tree (no error if it is gone already). */
export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/** Starts the origin (local-stack/origin-process.ts) and registers it with `cleanup`. */
export async function startBenchOrigin(env: Record<string, string>, cleanup: Cleanup): Promise<BenchOrigin> {
  const origin = await startOrigin(env);
  const unregister = cleanup.add(`origin pid ${origin.pid}`, () => origin.stop());
  return {
    ...origin,
    stop: async () => {
      unregister();
      await origin.stop();
    },
  };
}

export interface HttpResult {
  status: number;
  body: Buffer;
  ms: number;
}

/** GET with no client timeout; `ms` runs from sending the request to the last body byte. */
export function httpGet(url: string, headers: Record<string, string>): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(url, { method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A field of /proc/<pid>/status in kB (VmHWM, VmRSS). */
export async function procStatusKb(pid: number, field: string): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

/**
 * CPU seconds (user + system) the process has used so far, its own and that of its children it
 * has waited for (nix), from /proc/<pid>/stat.
 */
export async function procCpuSeconds(pid: number): Promise<{ self: number; children: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at state (field 3).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  const [utime, stime, cutime, cstime] = [fields[11], fields[12], fields[13], fields[14]].map((v) => v ?? Number.NaN) as [number, number, number, number];
  return { self: (utime + stime) / CLOCK_TICKS, children: (cutime + cstime) / CLOCK_TICKS };
}

/** sysconf(_SC_CLK_TCK): 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/** The median of a list of numbers (mean of the middle two for an even count), NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A megabyte (10^6 bytes), as the reports count. */
export const MB = 1_000_000;

/** A duration for the report: seconds, two decimals under 10 s. */
export function seconds(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`;
}

/** Bytes as MB (10^6) for the report. */
export function megabytes(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

/** CPU seconds per thread of a process (main thread = tid equal to the pid), by tid. */
export async function threadCpuSeconds(pid: number): Promise<Map<number, { name: string; seconds: number }>> {
  const threads = new Map<number, { name: string; seconds: number }>();
  let tids: string[];
  try {
    tids = await readdir(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  await Promise.all(
    tids.map(async (tid) => {
      try {
        const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
        threads.set(Number(tid), { name, seconds: ((fields[11] ?? 0) + (fields[12] ?? 0)) / CLOCK_TICKS });
      } catch {
        // the thread ended
      }
    }),
  );
  return threads;
}

/** Per-thread CPU used between two samples, grouped: the main thread, then by thread name. */
export function threadCpuDelta(
  pid: number,
  before: Map<number, { name: string; seconds: number }>,
  after: Map<number, { name: string; seconds: number }>,
): Array<{ name: string; threads: number; seconds: number }> {
  const groups = new Map<string, { threads: number; seconds: number }>();
  for (const [tid, sample] of after) {
    const used = sample.seconds - (before.get(tid)?.seconds ?? 0);
    const name = tid === pid ? 'main thread' : sample.name;
    const group = groups.get(name) ?? { threads: 0, seconds: 0 };
    group.threads += 1;
    group.seconds += used;
    groups.set(name, group);
  }
  return [...groups].map(([name, g]) => ({ name, ...g })).sort((a, b) => b.seconds - a.seconds);
}

/** Machine-wide CPU seconds so far from /proc/stat: busy (all tasks, every tenant) and idle. */
export async function machineCpuSeconds(): Promise<{ busy: number; idle: number }> {
  const stat = await readFile('/proc/stat', 'utf8');
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) throw new Error('no cpu line in /proc/stat');
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  return { busy: busy / CLOCK_TICKS, idle: ((idle ?? 0) + (iowait ?? 0)) / CLOCK_TICKS };
}

/** A positive integer setting from the environment (e.g. BENCH_RUNS), `fallback` when unset or empty. */
export function positiveIntEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`Expected ${name} to be a positive integer, got ${JSON.stringify(raw)}`);
  return value;
}

/** Writes a progress line to stderr (stdout carries the results). */
export function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/**
 * Runs a benchmark's `main` with a Cleanup that runs whatever happens: on success, on error (exit
 * code 1, without a stack trace after a signal) and on SIGINT/SIGTERM (exit 130/143).
 * `onSignal` runs first on a signal (e.g. to kill a child process in flight).
 */
export async function runBenchmark(main: (cleanup: Cleanup) => Promise<void>, onSignal: () => void = () => undefined): Promise<void> {
  const cleanup = new Cleanup();
  let exiting = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      if (exiting) return;
      exiting = true;
      progress(`${signal}: cleaning up`);
      onSignal();
      void cleanup.runAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
  try {
    await main(cleanup);
  } catch (error) {
    // After a signal the work in flight fails as its processes stop: not worth a stack trace.
    if (!exiting) process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  } finally {
    await cleanup.runAll();
  }
}
