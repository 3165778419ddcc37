/**
 * Times the layer pipeline (storePathEntries -> packTar -> compressLayer -> a sink dropping the
 * bytes, like /dev/null) on given store paths, against the serial floor
 * `tar --sort=name -cf - <paths> | gzip -6 | sha256sum`.
 *
 *   npx node origin/tarball/bench-pack.ts <store paths...> [+ <store paths...>]...
 *       one in-process run: wall time, CPU time, peak RSS and each layer's digest, diffID and size
 *       (one JSON line). `+` starts another layer; layers are packed and compressed at the same
 *       time, as the origin does with LAYER_CONCURRENCY layers.
 *   npx node origin/tarball/bench-pack.ts --runs 5 [--floor] [--impl DIR]... <store paths...> [+ ...]
 *       `runs` rounds, each running the floor (with --floor; serially over all the paths) and then
 *       each implementation in a fresh process, interleaved so that drift on a noisy machine hits
 *       every side alike; then medians.
 *
 * `--impl DIR` loads pack.ts, compress.ts and store-paths.ts from DIR instead of this directory
 * (say a copy of an older version, to compare); give it several times to compare several.
 * `--level N` is the gzip level (6).
 */

import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { LayerDigests } from './compress.ts';
import type { TarEntry } from './entry.ts';

interface Options {
  runs: number;
  floor: boolean;
  impls: string[];
  level: number;
  layers: string[][];
}

interface RunResult {
  ms: number;
  cpuS: number;
  maxRssMb: number;
  layers: LayerDigests[];
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
const USAGE = 'usage: bench-pack.ts [--runs N] [--floor] [--impl DIR]... [--level N] <store paths...> [+ <store paths...>]...';

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { runs: 0, floor: false, impls: [], level: 6, layers: [[]] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--runs') options.runs = Number(value());
    else if (arg === '--floor') options.floor = true;
    else if (arg === '--impl') options.impls.push(resolve(value()));
    else if (arg === '--level') options.level = Number(value());
    else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}\n${USAGE}`);
    else if (arg === '+') options.layers.push([]);
    else options.layers.at(-1)?.push(arg);
  }
  if (options.layers.some((paths) => paths.length === 0)) throw new Error(USAGE);
  if (!Number.isInteger(options.runs) || options.runs < 0) throw new Error('--runs must be a whole number');
  return options;
}

/** Packs and compresses every layer at once with the implementation in `dir`, dropping the bytes. */
async function runOnce(dir: string, layers: readonly string[][], level: number): Promise<RunResult> {
  const load = async <T>(file: string): Promise<T> => (await import(pathToFileURL(resolve(dir, file)).href)) as T;
  const { packTar } = await load<{ packTar: (entries: AsyncIterable<TarEntry>) => Readable }>('pack.ts');
  const { storePathEntries } = await load<{ storePathEntries: (paths: readonly string[]) => AsyncIterable<TarEntry> }>('store-paths.ts');
  const { compressLayer } = await load<{
    compressLayer: (tar: Readable, sink: (compressed: Readable) => Promise<void>, options?: { level?: number }) => Promise<LayerDigests>;
  }>('compress.ts');

  const drop = (compressed: Readable): Promise<void> =>
    new Promise<void>((resolveDone, reject) => {
      const devNull = new Writable({
        write(_chunk, _encoding, callback) {
          callback();
        },
      });
      devNull.on('finish', resolveDone);
      compressed.on('error', reject);
      compressed.pipe(devNull);
    });

  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const digests = await Promise.all(layers.map((paths) => compressLayer(packTar(storePathEntries(paths)), drop, { level })));
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return { ms, cpuS: (cpu.user + cpu.system) / 1e6, maxRssMb: process.resourceUsage().maxRSS / 1024, layers: digests };
}

async function spawnCollect(command: string, args: readonly string[]): Promise<string> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolveCode, reject) => {
    child.once('error', reject);
    child.once('close', resolveCode);
  });
  if (code !== 0) throw new Error(`${command} failed (exit ${code}): ${stderr}`);
  return stdout;
}

async function floorMs(paths: readonly string[], level: number): Promise<number> {
  const started = performance.now();
  const out = await spawnCollect('bash', ['-c', `set -o pipefail; tar --sort=name -cf - "$@" | gzip -${level} | sha256sum`, 'bench-floor', ...paths]);
  if (!/^[0-9a-f]{64}\s/.test(out)) throw new Error(`the floor printed ${out}`);
  return performance.now() - started;
}

async function childRun(dir: string, layers: readonly string[][], level: number): Promise<RunResult> {
  const paths = layers.flatMap((layer, i) => (i === 0 ? layer : ['+', ...layer]));
  const out = await spawnCollect(process.execPath, [fileURLToPath(import.meta.url), '--impl', dir, '--level', String(level), ...paths]);
  return JSON.parse(out) as RunResult;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

const secs = (ms: number): string => (ms / 1000).toFixed(2);

async function compare(options: Options): Promise<void> {
  const impls = options.impls.length > 0 ? options.impls : [HERE];
  const floors: number[] = [];
  const results = new Map<string, RunResult[]>(impls.map((dir) => [dir, []]));
  for (let round = 1; round <= options.runs; round++) {
    const line: string[] = [`round ${round}/${options.runs}:`];
    if (options.floor) {
      const ms = await floorMs(options.layers.flat(), options.level);
      floors.push(ms);
      line.push(`floor ${secs(ms)} s`);
    }
    for (const dir of impls) {
      const result = await childRun(dir, options.layers, options.level);
      results.get(dir)?.push(result);
      line.push(`${dir} ${secs(result.ms)} s (CPU ${result.cpuS.toFixed(2)} s, ${result.maxRssMb.toFixed(0)} MB)`);
    }
    process.stderr.write(`${line.join('  ')}\n`);
  }
  const floor = options.floor ? median(floors) : undefined;
  if (floor !== undefined) console.log(`floor  median ${secs(floor)} s  runs ${floors.map(secs).join(' ')}`);
  for (const [dir, runs] of results) {
    const ms = median(runs.map((r) => r.ms));
    const ratio = floor === undefined ? '' : `  ${(ms / floor).toFixed(2)}x floor`;
    const outputs = new Set(runs.map((r) => r.layers.map((l) => `${l.digest} ${l.diffId} ${l.size}`).join('\n  ')));
    console.log(
      `${dir}\n  median ${secs(ms)} s${ratio}  CPU median ${median(runs.map((r) => r.cpuS)).toFixed(2)} s` +
        `  peak RSS median ${median(runs.map((r) => r.maxRssMb)).toFixed(0)} MB  runs ${runs.map((r) => secs(r.ms)).join(' ')}` +
        `\n  ${[...outputs].join('\n  (differs between runs!)\n  ')}`,
    );
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options.runs === 0) console.log(JSON.stringify(await runOnce(options.impls[0] ?? HERE, options.layers, options.level)));
  else await compare(options);
}

await main();
