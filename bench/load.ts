/**
 * A small wrapper around `wrk` (Debian's package) for bench/edge.ts: runs it against one URL with
 * `--latency` and parses requests/s and the 50% / 99% latency lines. A run with non-2xx answers or
 * socket errors is an error, so a cache miss or a crash never passes for a fast answer.
 */

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export interface LoadOptions {
  url: string;
  threads: number;
  connections: number;
  durationSeconds: number;
  headers: Record<string, string>;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** CPU seconds wrk itself used (user + system). */
  wrkCpuSeconds: number;
  output: string;
}

const TIMEOUT_SECONDS = 10;

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function latencyMs(output: string, percentile: number): number {
  const match = new RegExp(`^\\s*${percentile}(?:\\.0+)?%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(output);
  if (!match) throw new Error(`wrk printed no ${percentile}% latency line:\n${output}`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

/** CPU seconds (user + system) of the children this process has reaped, from /proc/self/stat. */
async function reapedChildrenCpuSeconds(): Promise<number> {
  const stat = await readFile('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return ((fields[13] ?? 0) + (fields[14] ?? 0)) / 100;
}

/** Parses wrk's report; throws on non-2xx answers or socket errors. */
export function parseWrk(output: string): Omit<LoadResult, 'wrkCpuSeconds' | 'output'> {
  const rate = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  const total = /^\s*(\d+) requests in /m.exec(output);
  if (!rate || !total) throw new Error(`wrk printed no Requests/sec:\n${output}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output);
  if (non2xx) throw new Error(`wrk got ${non2xx[1]} non-2xx/3xx answers:\n${output}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  if (socket) throw new Error(`wrk saw socket errors (${socket[0]}):\n${output}`);
  return { requestsPerSecond: Number(rate[1]), p50Ms: latencyMs(output, 50), p99Ms: latencyMs(output, 99), requests: Number(total[1]) };
}

/** Runs `wrk -t<threads> -c<connections> -d<duration>s --latency -H ... <url>` once. */
export async function runWrk(options: LoadOptions): Promise<LoadResult> {
  // wrk drops answers slower than its 2 s default timeout from the latency histogram (a p99 that
  // flatters a stalled server); 10 s keeps them in it, and any that slow is still an error.
  const args = [`-t${options.threads}`, `-c${options.connections}`, `-d${options.durationSeconds}s`, `--timeout`, `${TIMEOUT_SECONDS}s`, '--latency'];
  for (const [name, value] of Object.entries(options.headers)) args.push('-H', `${name}: ${value}`);
  args.push(options.url);
  const cpuBefore = await reapedChildrenCpuSeconds();
  const output = await new Promise<string>((resolve, reject) => {
    execFile('wrk', args, { timeout: (options.durationSeconds + 30) * 1000, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`wrk ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
  const wrkCpuSeconds = (await reapedChildrenCpuSeconds()) - cpuBefore;
  return { ...parseWrk(output), wrkCpuSeconds, output };
}

/** The wrk command line for the report. */
export function wrkCommand(options: Omit<LoadOptions, 'url'>): string {
  const headers = Object.entries(options.headers).map(([name, value]) => `-H '${name}: ${value}'`);
  return ['wrk', `-t${options.threads}`, `-c${options.connections}`, `-d${options.durationSeconds}s`, `--timeout ${TIMEOUT_SECONDS}s`, '--latency', ...headers, '<url>'].join(' ');
}
