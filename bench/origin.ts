/**
 * The origin benchmark (`npm run bench`): how a cold image build of the bench package set
 * (test/fixtures/bench, attribute `all`, ~590 MiB closure) compares with the serial floor
 * `tar --sort=name | gzip -6 | sha256sum` over the same store paths, how much the layer cache and
 * the image cache save, and the origin's peak memory. Then the same image with zstd layers
 * (`zstd/all`) against `tar --sort=name | zstd -3 -T0 | sha256sum` and against the gzip build, its
 * size against gzip's, and what each codec costs a client: skopeo pulling the image with
 * decompression (`copy --dest-decompress` to a `dir:` layout, as containerd and podman decompress
 * while pulling), then `tar -x` of every layer into one root filesystem. Then the image as two
 * platforms (NIXEDGE_PLATFORMS=linux/amd64,linux/arm64, the bench set's aarch64 paths "cross-built"
 * here like the fixtures'): its cold build beside the one-platform cold build of the same run.
 *
 *   BENCH_RUNS=3 npm run bench     # runs of each measurement (median reported); default 3
 *
 * The origin inherits the environment, so LAYER_CONCURRENCY, GZIP_LEVEL, ZSTD_LEVEL, ... can be
 * varied. Runs are interleaved (gzip floor, parallel floor, gzip cold, warm, hit, client pull;
 * zstd floor, zstd cold, warm, hit, client pull; two-platform cold; then the next run) so drift on a noisy machine
 * hits both sides of each ratio alike. Progress goes to stderr, the results to stdout.
 */

import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  Cleanup,
  MB,
  httpGet,
  machineCpuSeconds,
  median,
  megabytes,
  positiveIntEnv,
  procCpuSeconds,
  procStatusKb,
  progress,
  removeDir,
  runBenchmark,
  seconds,
  startBenchOrigin,
  threadCpuDelta,
  threadCpuSeconds,
  type BenchOrigin,
  type LogLine,
} from './support.ts';

const run = promisify(execFile);

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BENCH_PKGS = join(REPO, 'test/fixtures/bench');
const IMAGE_PATH = '/v2/all/manifests/latest';
/** The same image with zstd layers (the `zstd` meta-package). */
const ZSTD_IMAGE_PATH = '/v2/zstd/all/manifests/latest';
/** The floors' compressors: the origin's default levels (GZIP_LEVEL 6, ZSTD_LEVEL 3). */
/** Both platforms of a multi-platform image (NIXEDGE_PLATFORMS); the bench set builds its aarch64 paths here ("cross-built" like the fixtures). */
const TWO_PLATFORMS = 'linux/amd64,linux/arm64';
const INDEX_ACCEPT = 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json';
const GZIP_FLOOR = 'gzip -6';
const ZSTD_FLOOR = 'zstd -3 -T0';
const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
/** Layers the origin compresses at once (its default), and the ways the parallel floor splits. */
const WAYS = Number(process.env['LAYER_CONCURRENCY'] ?? Math.max(2, availableParallelism()));
const GOAL = { coldOverFloor: 0.7, warmOverCold: 0.1, peakRssMb: 200, zstdColdOverFloor: 1.0, zstdColdOverGzipCold: 0.3 };

interface Closure {
  out: string;
  paths: string[];
  narSizes: Map<string, number>;
  narBytes: number;
}

interface LayerTiming {
  startMs: number;
  endMs: number;
  durationMs: number;
  narSize: number;
  storePaths: number;
}

interface ColdRun {
  ms: number;
  peakRssKb: number;
  idleRssKb: number;
  originCpuS: number;
  childCpuS: number;
  machineBusyCores: number;
  threads: Array<{ name: string; threads: number; seconds: number }>;
  layers: number;
  compressedBytes: number;
  steps: Record<string, number>;
  layerTimings: LayerTiming[];
  warmMs: number;
  warmUploaded: number | undefined;
  hitMs: number;
  client: ClientPull;
}

/** A client's pull of the image: skopeo with decompression, then unpacking every layer. */
interface ClientPull {
  pullMs: number;
  unpackMs: number;
}

async function main(cleanup: Cleanup): Promise<void> {
  const runs = positiveIntEnv('BENCH_RUNS', 3);

  progress('preparing: realising the bench closure (not timed)');
  const closure = await prepare();
  progress(`closure: ${closure.paths.length} store paths, ${megabytes(closure.narBytes)} (nar)`);

  const floors: Timed[] = [];
  const parallelFloors: Timed[] = [];
  const colds: ColdRun[] = [];
  const zstdFloors: Timed[] = [];
  const zstdColds: ColdRun[] = [];
  const twoPlatformColds: PlatformsRun[] = [];
  for (let i = 1; i <= runs; i++) {
    progress(`run ${i}/${runs}: serial floor`);
    floors.push(await serialFloor(closure.paths, GZIP_FLOOR));
    progress(`run ${i}/${runs}: serial floor ${seconds(floors.at(-1)!.ms)}; parallel floor (${WAYS} ways)`);
    parallelFloors.push(await parallelFloor(closure, WAYS));
    progress(`run ${i}/${runs}: parallel floor ${seconds(parallelFloors.at(-1)!.ms)}; cold build`);
    const cold = await coldRun(cleanup, IMAGE_PATH);
    colds.push(cold);
    progress(`run ${i}/${runs}: cold ${seconds(cold.ms)}, warm ${seconds(cold.warmMs)}, hit ${seconds(cold.hitMs)}, peak RSS ${((cold.peakRssKb * 1024) / MB).toFixed(0)} MB, client pull ${seconds(cold.client.pullMs)} + unpack ${seconds(cold.client.unpackMs)}; zstd floor`);
    zstdFloors.push(await serialFloor(closure.paths, ZSTD_FLOOR));
    progress(`run ${i}/${runs}: zstd floor ${seconds(zstdFloors.at(-1)!.ms)}; zstd cold build`);
    const zstd = await coldRun(cleanup, ZSTD_IMAGE_PATH);
    zstdColds.push(zstd);
    progress(`run ${i}/${runs}: zstd cold ${seconds(zstd.ms)}, warm ${seconds(zstd.warmMs)}, hit ${seconds(zstd.hitMs)}, peak RSS ${((zstd.peakRssKb * 1024) / MB).toFixed(0)} MB, client pull ${seconds(zstd.client.pullMs)} + unpack ${seconds(zstd.client.unpackMs)}; two-platform cold build`);
    const both = await twoPlatformColdRun(cleanup);
    twoPlatformColds.push(both);
    progress(`run ${i}/${runs}: two-platform cold ${seconds(both.ms)}, peak RSS ${((both.peakRssKb * 1024) / MB).toFixed(0)} MB`);
  }
  report(closure, floors, parallelFloors, colds);
  reportZstd(closure, zstdFloors, zstdColds, colds);
  reportTwoPlatforms(twoPlatformColds, colds);
}

/** Realises the bench image and lists its closure (store paths and total nar size). */
async function prepare(): Promise<Closure> {
  // The bench package set copies files of the host (/usr/lib, ...): it builds outside the sandbox
  // even on a machine whose nix.conf turns the sandbox on (nix's default without a nix.conf).
  const built = await run('nix-build', [BENCH_PKGS, '-A', 'all', '--no-out-link', '--option', 'substituters', '', '--option', 'sandbox', 'false'], {
    cwd: REPO,
    maxBuffer: 64 * MB,
  });
  const out = built.stdout.trim().split('\n').at(-1) ?? '';
  if (!out.startsWith('/nix/store/')) throw new Error(`nix-build printed no store path: ${built.stdout}`);
  // The arm64 platform's paths too, so the two-platform build times layering and compression only.
  await run('nix-build', [BENCH_PKGS, '-A', 'all', '--argstr', 'system', 'aarch64-linux', '--no-out-link', '--option', 'substituters', '', '--option', 'sandbox', 'false'], {
    cwd: REPO,
    maxBuffer: 64 * MB,
  });
  const info = await run('nix', ['--extra-experimental-features', 'nix-command', 'path-info', '-r', '--json', out], { maxBuffer: 64 * MB });
  const entries = JSON.parse(info.stdout) as Array<{ path: string; narSize: number }>;
  const paths = entries.map((e) => e.path).sort();
  const narSizes = new Map(entries.map((e) => [e.path, e.narSize]));
  return { out, paths, narSizes, narBytes: entries.reduce((sum, e) => sum + e.narSize, 0) };
}

/** A timed run and the machine's busy cores meanwhile (every process of every tenant). */
interface Timed {
  ms: number;
  machineBusyCores: number;
}

async function timedWithMachine(work: () => Promise<void>): Promise<Timed> {
  const before = await machineCpuSeconds();
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  const after = await machineCpuSeconds();
  return { ms, machineBusyCores: (after.busy - before.busy) / (ms / 1000) };
}

/** One timed `tar --sort=name -cf - paths | <compressor> | sha256sum`. */
async function serialFloor(paths: readonly string[], compressor: string): Promise<Timed> {
  return timedWithMachine(() => floorPipeline(paths, compressor));
}

/**
 * A machine check, not a goal: the closure split into `ways` groups of about equal nar size
 * (largest first), each group's floor pipeline run at the same time. What two shell pipelines get
 * out of this machine's cores right now; the best the origin could hope for with that split.
 */
async function parallelFloor(closure: Closure, ways: number): Promise<Timed> {
  const groups = Array.from({ length: ways }, () => ({ bytes: 0, paths: [] as string[] }));
  const bySize = [...closure.paths].sort((a, b) => (closure.narSizes.get(b) ?? 0) - (closure.narSizes.get(a) ?? 0));
  for (const path of bySize) {
    const smallest = groups.reduce((min, g) => (g.bytes < min.bytes ? g : min));
    smallest.paths.push(path);
    smallest.bytes += closure.narSizes.get(path) ?? 0;
  }
  return timedWithMachine(async () => {
    await Promise.all(groups.filter((g) => g.paths.length > 0).map((g) => floorPipeline(g.paths.sort(), GZIP_FLOOR)));
  });
}

/** Runs `tar --sort=name -cf - paths | <compressor> | sha256sum` (the compressor a fixed command line of ours). */
async function floorPipeline(paths: readonly string[], compressor: string): Promise<void> {
  const child = spawn('bash', ['-c', `set -o pipefail; tar --sort=name -cf - "$@" | ${compressor} | sha256sum`, 'bench-floor', ...paths], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0 || !/^[0-9a-f]{64}\s/.test(stdout)) throw new Error(`floor pipeline failed (exit ${code}): ${stderr}${stdout}`);
}

/** A fresh storage dir and origin: cold GET of `imagePath`, then warm (image cache removed) and hit GETs, then a client's pull. */
async function coldRun(cleanup: Cleanup, imagePath: string): Promise<ColdRun> {
  const storage = await mkdtemp(join(tmpdir(), 'nixedge-bench-'));
  const forget = cleanup.add(`temp dir ${storage}`, () => removeDir(storage));
  let origin: BenchOrigin | undefined;
  try {
    origin = await startBenchOrigin(
      {
        NIXERY_PKGS_PATH: BENCH_PKGS,
        STORAGE_PATH: storage,
        LOG_LEVEL: 'info',
        NIX_TIMEOUT: process.env['NIX_TIMEOUT'] ?? '600',
      },
      cleanup,
    );

    // Cold: nothing cached, store paths realised.
    const idleRssKb = await procStatusKb(origin.pid, 'VmRSS');
    const cpuBefore = await procCpuSeconds(origin.pid);
    const threadsBefore = await threadCpuSeconds(origin.pid);
    const machineBefore = await machineCpuSeconds();
    const requestAt = performance.now();
    const cold = await httpGet(origin.url + imagePath, { Accept: ACCEPT });
    const peakRssKb = await procStatusKb(origin.pid, 'VmHWM');
    const machineAfter = await machineCpuSeconds();
    const cpuAfter = await procCpuSeconds(origin.pid);
    const threadsAfter = await threadCpuSeconds(origin.pid);
    expectOk(cold.status, cold.body, origin, 'cold GET');
    const manifest = JSON.parse(cold.body.toString('utf8')) as { layers: Array<{ size: number }> };
    const coldLogs = await requestLogs(origin, imagePath, requestAt);
    if (!coldLogs.some((line) => line.step === 'build')) throw new Error('the cold GET did not log a build step');
    const steps: Record<string, number> = {};
    for (const line of coldLogs) {
      if (line.step !== undefined && line.step !== 'layer' && typeof line.durationMs === 'number') steps[line.step] = line.durationMs;
    }
    const layerTimings = coldLogs
      .filter((line) => line.step === 'layer' && typeof line.durationMs === 'number')
      .map((line) => layerTiming(line, requestAt));

    // Warm: every layer in the layer cache, the image cache entry gone.
    const imagesDir = join(storage, 'cache', 'images');
    const entries = await readdir(imagesDir);
    if (entries.length === 0) throw new Error(`no image cache entry in ${imagesDir} after the cold build`);
    await Promise.all(entries.map((entry) => rm(join(imagesDir, entry), { force: true })));
    const warmAt = performance.now();
    const warm = await httpGet(origin.url + imagePath, { Accept: ACCEPT });
    expectOk(warm.status, warm.body, origin, 'warm GET');
    const warmLogs = await requestLogs(origin, imagePath, warmAt);
    if (!warmLogs.some((line) => line.step === 'build')) throw new Error('the warm GET did not rebuild (no build step logged)');
    const publish = warmLogs.find((line) => line.step === 'publish');
    const warmUploaded = typeof publish?.['uploaded'] === 'number' ? publish['uploaded'] : undefined;

    // Hit: the image cache entry is back.
    const hitAt = performance.now();
    const hit = await httpGet(origin.url + imagePath, { Accept: ACCEPT });
    expectOk(hit.status, hit.body, origin, 'cache-hit GET');
    if ((await requestLogs(origin, imagePath, hitAt)).some((line) => line.step === 'build')) throw new Error('the repeat GET rebuilt the image');
    const client = await clientPull(cleanup, origin.host, imagePath);

    return {
      ms: cold.ms,
      peakRssKb,
      idleRssKb,
      originCpuS: cpuAfter.self - cpuBefore.self,
      childCpuS: cpuAfter.children - cpuBefore.children,
      machineBusyCores: (machineAfter.busy - machineBefore.busy) / (cold.ms / 1000),
      threads: threadCpuDelta(origin.pid, threadsBefore, threadsAfter),
      layers: manifest.layers.length,
      compressedBytes: manifest.layers.reduce((sum, layer) => sum + layer.size, 0),
      steps,
      layerTimings,
      warmMs: warm.ms,
      warmUploaded,
      hitMs: hit.ms,
      client,
    };
  } finally {
    await origin?.stop();
    await removeDir(storage);
    forget();
  }
}

/**
 * The origin's log lines from `since` to the request log line of a GET of `path`, which the origin
 * writes last, after answering: the lines come through a pipe and may arrive after the answer.
 */
async function requestLogs(origin: BenchOrigin, path: string, since: number): Promise<LogLine[]> {
  const done = await origin.waitForLog((line) => line.msg === 'request' && line['path'] === path && line.receivedAt >= since);
  return origin.logs.filter((line) => line.receivedAt >= since && line.receivedAt <= done.receivedAt);
}

/**
 * What the image costs a client: `skopeo copy --dest-decompress docker://<origin>/<image>
 * dir:<tmp>` (the pull, verifying and decompressing every layer, as containerd and podman do),
 * then `tar -xf` of each decompressed layer, in order, into one root filesystem (the same work
 * for either codec). Both on this machine, from the origin's filesystem storage over loopback,
 * into /dev/shm where there is one: written to disk, the second image's unpacking waited for the
 * first one's writeback (4.5 s instead of 1.0 s for the same tar files).
 */
async function clientPull(cleanup: Cleanup, host: string, imagePath: string): Promise<ClientPull> {
  const image = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(imagePath);
  if (!image) throw new Error(`Expected a manifest path, got ${imagePath}`);
  const dir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'nixedge-bench-pull-'));
  const forget = cleanup.add(`temp dir ${dir}`, () => removeDir(dir));
  try {
    const layout = join(dir, 'image');
    const pullStarted = performance.now();
    await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', '--dest-decompress', `docker://${host}/${image[1]}:${image[2]}`, `dir:${layout}`]);
    const pullMs = performance.now() - pullStarted;
    const manifest = JSON.parse(await readFile(join(layout, 'manifest.json'), 'utf8')) as { layers: Array<{ mediaType: string; digest: string }> };
    const rootfs = join(dir, 'rootfs');
    await mkdir(rootfs);
    const unpackStarted = performance.now();
    for (const layer of manifest.layers) {
      if (!layer.mediaType.endsWith('.tar')) throw new Error(`Expected skopeo to decompress every layer, got ${layer.mediaType}`);
      await run('tar', ['-x', '-f', join(layout, layer.digest.slice('sha256:'.length)), '-C', rootfs]);
    }
    return { pullMs, unpackMs: performance.now() - unpackStarted };
  } finally {
    await removeDir(dir);
    forget();
  }
}

function layerTiming(line: LogLine, requestAt: number): LayerTiming {
  const durationMs = line.durationMs ?? 0;
  const endMs = line.receivedAt - requestAt;
  return {
    startMs: endMs - durationMs,
    endMs,
    durationMs,
    narSize: typeof line['narSize'] === 'number' ? line['narSize'] : Number.NaN,
    storePaths: typeof line['storePaths'] === 'number' ? line['storePaths'] : Number.NaN,
  };
}

/** Each run's value, formatted, comma-separated (the "runs:" of a figure). */
function list(values: number[], format: (v: number) => string): string {
  return values.map(format).join(', ');
}

/** Each run's busy cores out of the machine's: "1.49, 1.50 of 2". */
function busy(runs: number[]): string {
  return `${list(runs, (v) => v.toFixed(2))} of ${availableParallelism()}`;
}

/** Each cold run's origin CPU (its own and its children's) over the run's wall time, in cores. */
function originCores(colds: ColdRun[]): string {
  return list(colds.map((c) => (c.originCpuS + c.childCpuS) / (c.ms / 1000)), (v) => v.toFixed(2));
}

/** A cold build of a multi-platform image: its wall time and the origin's peak memory. */
interface PlatformsRun {
  ms: number;
  peakRssKb: number;
  layers: number;
}

/** A fresh storage dir and origin with NIXEDGE_PLATFORMS=linux/amd64,linux/arm64: cold GET of the image's OCI index. */
async function twoPlatformColdRun(cleanup: Cleanup): Promise<PlatformsRun> {
  const storage = await mkdtemp(join(tmpdir(), 'nixedge-bench-'));
  const forget = cleanup.add(`temp dir ${storage}`, () => removeDir(storage));
  let origin: BenchOrigin | undefined;
  try {
    origin = await startBenchOrigin(
      { NIXERY_PKGS_PATH: BENCH_PKGS, STORAGE_PATH: storage, LOG_LEVEL: 'info', NIX_TIMEOUT: process.env['NIX_TIMEOUT'] ?? '600', NIXEDGE_PLATFORMS: TWO_PLATFORMS },
      cleanup,
    );
    const cold = await httpGet(origin.url + IMAGE_PATH, { Accept: INDEX_ACCEPT });
    const peakRssKb = await procStatusKb(origin.pid, 'VmHWM');
    expectOk(cold.status, cold.body, origin, 'two-platform cold GET');
    const index = JSON.parse(cold.body.toString('utf8')) as { mediaType?: string; manifests?: Array<{ platform?: { architecture?: string } }> };
    const architectures = (index.manifests ?? []).map((entry) => entry.platform?.architecture).join(',');
    if (architectures !== 'amd64,arm64') throw new Error(`expected an index of amd64 and arm64, got ${index.mediaType}: ${architectures}`);
    const layers = (await requestLogs(origin, IMAGE_PATH, 0)).filter((line) => line.step === 'layer').length;
    return { ms: cold.ms, peakRssKb, layers };
  } finally {
    await origin?.stop();
    await removeDir(storage);
    forget();
  }
}

/** The multi-platform part of the report: a two-platform cold build beside the one-platform one of the same runs. */
function reportTwoPlatforms(runs: PlatformsRun[], oneColds: ColdRun[]): void {
  const cold = median(runs.map((r) => r.ms));
  const one = median(oneColds.map((c) => c.ms));
  const rssMb = runs.map((r) => (r.peakRssKb * 1024) / MB);
  const oneRssMb = median(oneColds.map((c) => (c.peakRssKb * 1024) / MB));
  const lines = [
    `multi-platform (NIXEDGE_PLATFORMS=${TWO_PLATFORMS}): the same image as an OCI index of two platform images, ${runs.length} runs (medians), each beside the gzip run above`,
    `two-platform cold build: ${seconds(cold)} (baseline: one-platform cold build ${seconds(one)}, ratio: ${ratio(cold, one)}, goal: none; twice the layers to compress on the same ${availableParallelism()} cores; runs: ${list(runs.map((r) => r.ms), seconds)}; per-run ratios: ${list(runs.map((r, i) => r.ms / (oneColds[i]?.ms ?? Number.NaN)), (v) => v.toFixed(2))})`,
    `two-platform peak RSS of the origin (VmHWM): median ${median(rssMb).toFixed(0)} MB, max ${Math.max(...rssMb).toFixed(0)} MB (baseline: one-platform ${oneRssMb.toFixed(0)} MB, ratio: ${ratio(median(rssMb), oneRssMb)}, goal: < ${GOAL.peakRssMb} MB; runs: ${list(rssMb, (v) => v.toFixed(0))})`,
    `two-platform store-path layers built: ${list(runs.map((r) => r.layers), String)} (baseline: one platform ${median(oneColds.map((c) => c.layerTimings.length))})`,
  ];
  process.stdout.write('\n' + lines.join('\n') + '\n');
}

function expectOk(status: number, body: Buffer, origin: BenchOrigin, what: string): void {
  if (status === 200) return;
  const errors = origin.logs.filter((line) => (line['level'] as number) >= 50).map((line) => JSON.stringify(line));
  throw new Error(`${what} answered ${status}: ${body.toString('utf8').slice(0, 2000)}\n${errors.join('\n')}\n${origin.stderr()}`);
}

function report(closure: Closure, floorRuns: Timed[], parallelRuns: Timed[], colds: ColdRun[]): void {
  const floors = floorRuns.map((r) => r.ms);
  const parallelFloors = parallelRuns.map((r) => r.ms);
  const floor = median(floors);
  const parallel = median(parallelFloors);
  const cold = median(colds.map((c) => c.ms));
  const warm = median(colds.map((c) => c.warmMs));
  const hit = median(colds.map((c) => c.hitMs));
  const rssMb = colds.map((c) => (c.peakRssKb * 1024) / MB);
  const idleMb = median(colds.map((c) => (c.idleRssKb * 1024) / MB));
  const layers = median(colds.map((c) => c.layers));
  const compressed = median(colds.map((c) => c.compressedBytes));
  const floorRate = closure.narBytes / MB / (floor / 1000);
  const coldRate = closure.narBytes / MB / (cold / 1000);
  const concurrency = process.env['LAYER_CONCURRENCY'] ?? `default = max(2, cores) = ${Math.max(2, availableParallelism())}`;

  const lines = [
    `nixedge origin benchmark: image ${IMAGE_PATH} of test/fixtures/bench, ${colds.length} runs (medians), ${availableParallelism()} cores, LAYER_CONCURRENCY ${concurrency}`,
    '',
    `serial floor: ${seconds(floor)} (tar --sort=name | gzip -6 | sha256sum; runs: ${list(floors, seconds)})`,
    `cold build: ${seconds(cold)} (baseline: serial floor ${seconds(floor)}, ratio: ${ratio(cold, floor)}, goal: < ${GOAL.coldOverFloor} on 2 cores; runs: ${list(colds.map((c) => c.ms), seconds)})`,
    `cold build vs parallel floor (machine check): ${seconds(cold)} (baseline: ${WAYS} floor pipelines at once on halves of the closure ${seconds(parallel)}, ratio: ${ratio(cold, parallel)}, goal: ~1; parallel floor / serial floor = ${ratio(parallel, floor)}, 0.5 = ${WAYS} free cores; runs: ${list(parallelFloors, seconds)})`,
    `warm build (layers cached, image cache removed): ${seconds(warm)} (baseline: cold ${seconds(cold)}, ratio: ${ratio(warm, cold)}, goal: < ${GOAL.warmOverCold}; runs: ${list(colds.map((c) => c.warmMs), seconds)})`,
    `cache hit (image cache in place): ${seconds(hit)} (baseline: cold ${seconds(cold)}, ratio: ${ratio(hit, cold)}, goal: none; runs: ${list(colds.map((c) => c.hitMs), seconds)})`,
    `peak RSS of the origin, cold build (VmHWM): median ${median(rssMb).toFixed(0)} MB, max ${Math.max(...rssMb).toFixed(0)} MB (baseline: RSS of the idle origin before the request ${idleMb.toFixed(0)} MB, ratio: ${ratio(median(rssMb), idleMb)}, goal: < ${GOAL.peakRssMb} MB; runs: ${list(rssMb, (v) => v.toFixed(0))})`,
    `throughput, cold: ${coldRate.toFixed(1)} MB/s of closure (baseline: serial floor ${floorRate.toFixed(1)} MB/s, ratio: ${ratio(coldRate, floorRate)}, goal: > ${(1 / GOAL.coldOverFloor).toFixed(2)})`,
    `layers: ${layers} incl. the customisation layer (baseline: ${closure.paths.length} store paths in the closure, ratio: ${ratio(layers, closure.paths.length)}, goal: <= 95)`,
    `compressed size (sum of layers): ${megabytes(compressed)} (baseline: closure ${megabytes(closure.narBytes)}, ratio: ${ratio(compressed, closure.narBytes)}, goal: none)`,
    `closure size: ${megabytes(closure.narBytes)} (nar size of ${closure.paths.length} store paths)`,
    `origin CPU during the cold build: ${median(colds.map((c) => c.originCpuS)).toFixed(1)} s own + ${median(colds.map((c) => c.childCpuS)).toFixed(1)} s children (baseline: cold wall ${seconds(cold)}, ratio: ${ratio(median(colds.map((c) => c.originCpuS + c.childCpuS)) * 1000, cold)} cores busy, goal: ~2 on 2 cores)`,
    `machine CPU busy (all tenants; cores): serial floors ${busy(floorRuns.map((r) => r.machineBusyCores))}; parallel floors ${busy(parallelRuns.map((r) => r.machineBusyCores))}; cold builds ${busy(colds.map((c) => c.machineBusyCores))}, of which the origin ${originCores(colds)}`,
    `warm build uploads: ${list(colds.map((c) => c.warmUploaded ?? Number.NaN), (v) => String(v))} store-path layers re-uploaded (goal: 0)`,
  ];
  process.stdout.write(lines.join('\n') + '\n\n' + diagnosis(closure, colds, 'gzip').join('\n') + '\n');
}

/** The zstd part of the report: each figure beside its floor, the gzip build or the gzip pull of the same runs. */
function reportZstd(closure: Closure, floorRuns: Timed[], colds: ColdRun[], gzipColds: ColdRun[]): void {
  const floors = floorRuns.map((r) => r.ms);
  const floor = median(floors);
  const cold = median(colds.map((c) => c.ms));
  const gzipCold = median(gzipColds.map((c) => c.ms));
  const warm = median(colds.map((c) => c.warmMs));
  const rssMb = colds.map((c) => (c.peakRssKb * 1024) / MB);
  const gzipRssMb = median(gzipColds.map((c) => (c.peakRssKb * 1024) / MB));
  const compressed = median(colds.map((c) => c.compressedBytes));
  const gzipCompressed = median(gzipColds.map((c) => c.compressedBytes));
  const client = (runs: ColdRun[], pick: (pull: ClientPull) => number): number => median(runs.map((c) => pick(c.client)));
  const pull = (c: ClientPull): number => c.pullMs;
  const unpack = (c: ClientPull): number => c.unpackMs;
  const both = (c: ClientPull): number => c.pullMs + c.unpackMs;
  const clientLine = (what: string, pick: (pull: ClientPull) => number): string =>
    `${what}: zstd ${seconds(client(colds, pick))} (baseline: gzip ${seconds(client(gzipColds, pick))}, ratio: ${ratio(client(colds, pick), client(gzipColds, pick))}, goal: none; runs: zstd ${list(colds.map((c) => pick(c.client)), seconds)}; gzip ${list(gzipColds.map((c) => pick(c.client)), seconds)})`;

  const lines = [
    `zstd layers: image ${ZSTD_IMAGE_PATH}, ${colds.length} runs (medians), each run beside the gzip run above`,
    '',
    `zstd floor: ${seconds(floor)} (tar --sort=name | ${ZSTD_FLOOR} | sha256sum; runs: ${list(floors, seconds)})`,
    `zstd cold build: ${seconds(cold)} (baseline: zstd floor ${seconds(floor)}, ratio: ${ratio(cold, floor)}, goal: <= ${GOAL.zstdColdOverFloor.toFixed(1)}; runs: ${list(colds.map((c) => c.ms), seconds)})`,
    `zstd cold build vs gzip cold build: ${seconds(cold)} (baseline: gzip cold ${seconds(gzipCold)}, ratio: ${ratio(cold, gzipCold)}, goal: <= ${GOAL.zstdColdOverGzipCold}; runs: ${list(colds.map((c, i) => c.ms / (gzipColds[i]?.ms ?? Number.NaN)), (v) => v.toFixed(2))})`,
    `zstd warm build (layers cached, image cache removed): ${seconds(warm)} (baseline: zstd cold ${seconds(cold)}, ratio: ${ratio(warm, cold)}, goal: < ${GOAL.warmOverCold}; runs: ${list(colds.map((c) => c.warmMs), seconds)}; re-uploaded: ${list(colds.map((c) => c.warmUploaded ?? Number.NaN), String)})`,
    `zstd peak RSS of the origin, cold build (VmHWM): median ${median(rssMb).toFixed(0)} MB, max ${Math.max(...rssMb).toFixed(0)} MB (baseline: gzip cold build ${gzipRssMb.toFixed(0)} MB, ratio: ${ratio(median(rssMb), gzipRssMb)}, goal: < ${GOAL.peakRssMb} MB; runs: ${list(rssMb, (v) => v.toFixed(0))})`,
    `zstd compressed size (sum of layers): ${megabytes(compressed)} (baseline: gzip ${megabytes(gzipCompressed)}, ratio: ${ratio(compressed, gzipCompressed)}; closure ${megabytes(closure.narBytes)}, ratio: ${ratio(compressed, closure.narBytes)}, goal: none)`,
    `throughput, zstd cold: ${(closure.narBytes / MB / (cold / 1000)).toFixed(1)} MB/s of closure (baseline: zstd floor ${(closure.narBytes / MB / (floor / 1000)).toFixed(1)} MB/s, ratio: ${ratio(floor, cold)}, goal: >= 1)`,
    clientLine('client pull with decompression (skopeo copy --dest-decompress to dir:)', pull),
    clientLine('client unpack of the decompressed layers (tar -x each, in order)', unpack),
    clientLine('client pull and unpack', both),
    `origin CPU during the zstd cold build: ${median(colds.map((c) => c.originCpuS)).toFixed(1)} s own + ${median(colds.map((c) => c.childCpuS)).toFixed(1)} s children (baseline: gzip cold ${median(gzipColds.map((c) => c.originCpuS)).toFixed(1)} s own, ratio: ${ratio(median(colds.map((c) => c.originCpuS)), median(gzipColds.map((c) => c.originCpuS)))})`,
    `machine CPU busy (all tenants; cores): zstd floors ${busy(floorRuns.map((r) => r.machineBusyCores))}; zstd cold builds ${busy(colds.map((c) => c.machineBusyCores))}, of which the origin ${originCores(colds)}`,
  ];
  process.stdout.write('\n' + lines.join('\n') + '\n\n' + diagnosis(closure, colds, 'zstd').join('\n') + '\n');
}

/** Where the median cold build's time went: steps and a per-layer timeline. */
function diagnosis(closure: Closure, colds: ColdRun[], codec: string): string[] {
  const sorted = [...colds].sort((a, b) => a.ms - b.ms);
  const c = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const layers = [...c.layerTimings].sort((a, b) => a.startMs - b.startMs);
  const first = Math.min(...layers.map((l) => l.startMs));
  const last = Math.max(...layers.map((l) => l.endMs));
  const summed = layers.reduce((sum, l) => sum + l.durationMs, 0);
  const out = [
    `diagnosis (median ${codec} cold run, ${seconds(c.ms)}):`,
    `  steps: ${['evaluate', 'realise', 'closure-graph', 'customisation-layer', 'build']
      .filter((s) => c.steps[s] !== undefined)
      .map((s) => `${s} ${seconds(c.steps[s]!)}`)
      .join(', ')}`,
    `  store-path layers: ${layers.length} compressed, from ${seconds(first)} to ${seconds(last)} after the request (${seconds(last - first)} wall, ${seconds(summed)} summed: ${(summed / Math.max(1, last - first)).toFixed(2)} layers in flight on average)`,
    `  origin CPU by thread: ${c.threads
      .filter((t) => t.seconds >= 0.05)
      .map((t) => `${t.name}${t.threads > 1 ? ` x${t.threads}` : ''} ${t.seconds.toFixed(1)} s`)
      .join(', ')} (wall ${seconds(c.ms)})`,
    '  layer timeline (start -> end after the request, duration, nar size, rate):',
  ];
  for (const l of layers) {
    out.push(
      `    ${seconds(l.startMs).padStart(8)} -> ${seconds(l.endMs).padStart(8)}  ${seconds(l.durationMs).padStart(8)}  ${megabytes(l.narSize).padStart(9)}  ${(l.narSize / MB / (l.durationMs / 1000)).toFixed(1).padStart(6)} MB/s  ${layerName(closure, l)}`,
    );
  }
  return out;
}

/** The store path of a one-path layer, found by its nar size (the log has sizes, not names). */
function layerName(closure: Closure, layer: LayerTiming): string {
  const matches = closure.paths.filter((p) => closure.narSizes.get(p) === layer.narSize);
  if (layer.storePaths === 1 && matches.length === 1) return matches[0]!.slice('/nix/store/'.length + 33);
  return `(${layer.storePaths} store paths)`;
}

function ratio(value: number, baseline: number): string {
  return (value / baseline).toFixed(2);
}

await runBenchmark(main);
