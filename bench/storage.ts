/**
 * The storage benchmark (part of `npm run bench`): how fast `Storage.writeStream` uploads one
 * large layer-like stream to each backend, and how much memory the uploading process needs.
 *
 *   BENCH_STORAGE_RUNS=2 BENCH_STORAGE_MB=1024 node bench/storage.ts
 *
 * Runs: BENCH_STORAGE_RUNS, else BENCH_RUNS, else 2 (not 3 as the other parts: one run of 1 GiB
 * to the three backends takes ~1.7 min on 2 cores, the local servers being slow). Medians are
 * reported. BENCH_STORAGE_MB (MiB, default 1024) shrinks the stream for a quick check.
 *
 * Per backend: filesystem (a temp dir), s3 (wrangler's local R2 through its S3 endpoint, its
 * --persist-to in a temp dir) and gcs (the Firebase storage emulator, in this process). Each
 * upload, and the baseline (the same bytes written with fs.createWriteStream to a temp file and
 * fsynced), runs in its own child process (`node bench/storage.ts --child <job>`) that reports its
 * timing and its peak RSS during the upload as JSON on stdout, so each peak RSS is that upload's
 * alone (see `measure` for why VmHWM and not getrusage's maxRSS). The child stats the object
 * (size checked) and deletes it after timing.
 *
 * The GCS emulator appends each 16 MiB chunk to a file, but on the final chunk reads the whole
 * object into one Buffer to hash it (md5, and crc32c in plain JavaScript): 1 GiB works, at a
 * peak of ~2.3 GB RSS in this process (reported). Not tried: 2 GiB or more, which it reads with
 * one readSync (Linux returns at most ~2 GiB per read(2), so it would likely hash a short read).
 *
 * The bytes: BENCH_STORAGE_MB MiB (default 1024) of AES-256-CTR keystream with a fixed key
 * (deterministic, incompressible, a few GB/s to generate), produced in 128 KiB chunks (the
 * chunk size the origin's compressor passes on), never whole in memory.
 *
 * Runs are interleaved (baseline, filesystem, s3, gcs; baseline, ...) so drift on a noisy machine
 * hits every figure alike; `sync` runs before each step so one step's writeback does not slow the
 * next. The local servers keep their objects on the same disk as the baseline, but unlike the
 * baseline and the filesystem backend they do not fsync: their figures are upper bounds on what
 * a local disk allows, and mostly measure the upload path (SDK, HTTP, server). Progress goes to
 * stderr, the results to stdout.
 */

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, stat, unlink } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import type { Storage } from '../origin/storage/storage.ts';
import { Cleanup, machineCpuSeconds, median, progress, removeDir, runBenchmark } from './support.ts';

const run = promisify(execFile);

const SELF = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
/** Bytes per chunk of the generated stream. */
const CHUNK = 128 * 1024;
const GCS_BUCKET = 'nixedge-bench';
/** A child that takes longer than this (per GiB, at least 2 min) is killed: something hangs. */
const CHILD_TIMEOUT_MS_PER_GIB = 10 * 60_000;

type Job = 'raw' | 'filesystem' | 's3' | 'gcs';
const BACKENDS = ['filesystem', 's3', 'gcs'] as const;
const LABELS: Record<Job, string> = {
  raw: 'raw disk write',
  filesystem: 'filesystem',
  s3: 's3 (local R2)',
  gcs: 'gcs (emulator)',
};

/** What the parent tells a child (as JSON in argv). */
interface ChildConfig {
  bytes: number;
  /** The temp file (raw) or the storage root (filesystem). */
  dir?: string;
  key?: string;
  s3?: { endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string };
  gcs?: { endpoint: string; projectId: string; bucket: string };
}

/** What a child reports (one JSON line on stdout). */
interface ChildResult {
  ms: number;
  bytes: number;
  /** RSS (kB) just before the upload started (Node, the SDK loaded, the client made). */
  idleRssKb: number;
  /** Peak RSS (kB, VmHWM) during the upload. */
  peakRssKb: number;
  /** Whether VmHWM could be reset before the upload (else the peak may be startup's). */
  peakReset: boolean;
  /** CPU seconds (user + system) the child used during the upload. */
  cpuS: number;
  /** Cores busy machine-wide (every tenant) while the child ran; set by the parent. */
  machineBusyCores?: number;
}

/** `bytes` of deterministic, incompressible bytes in CHUNK-sized chunks. */
function layerLikeStream(bytes: number): Readable {
  const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, 7), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(CHUNK);
  let left = bytes;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const size = Math.min(CHUNK, left);
      left -= size;
      this.push(cipher.update(zeros.subarray(0, size)));
    },
  });
}

// ---------------------------------------------------------------------------------------------
// The child: one upload, measured.

async function child(job: Job, config: ChildConfig): Promise<ChildResult> {
  if (job === 'raw') {
    const path = join(config.dir!, 'raw-baseline');
    const measured = await measure(async () => {
      // flush: fsync before close, as the filesystem backend does.
      await pipeline(layerLikeStream(config.bytes), createWriteStream(path, { flags: 'wx', flush: true }));
      return config.bytes;
    });
    const size = (await stat(path)).size;
    await unlink(path);
    if (size !== config.bytes) throw new Error(`Expected ${config.bytes} bytes in ${path}, got ${size}`);
    return measured;
  }

  // Each SDK is loaded only in its own child, as the origin does (it costs tens of MB).
  let storage: Storage;
  let destroy = (): void => undefined;
  switch (job) {
    case 'filesystem': {
      const { FilesystemStorage } = await import('../origin/storage/filesystem.ts');
      storage = new FilesystemStorage(config.dir!);
      break;
    }
    case 's3': {
      const { S3Storage } = await import('../origin/storage/s3.ts');
      const s3 = new S3Storage({ ...config.s3!, forcePathStyle: true });
      storage = s3;
      destroy = () => s3.destroy();
      break;
    }
    case 'gcs': {
      const { GcsStorage } = await import('../origin/storage/gcs.ts');
      storage = new GcsStorage({ bucket: config.gcs!.bucket, projectId: config.gcs!.projectId, apiEndpoint: config.gcs!.endpoint });
      break;
    }
  }
  const key = config.key!;
  const measured = await measure(async () => (await storage.writeStream(key, layerLikeStream(config.bytes))).size);
  const stored = await storage.stat(key);
  await storage.delete(key);
  const gone = await storage.stat(key);
  destroy();
  if (measured.bytes !== config.bytes) throw new Error(`Expected writeStream to report ${config.bytes} bytes, got ${measured.bytes}`);
  if (stored?.size !== config.bytes) throw new Error(`Expected ${key} to hold ${config.bytes} bytes, got ${stored ? stored.size : 'no object'}`);
  if (gone !== undefined) throw new Error(`Expected ${key} to be deleted, it still has ${gone.size} bytes`);
  return measured;
}

/**
 * Times `work` (which resolves with the bytes it wrote) and takes this process's peak RSS during
 * it: VmHWM, reset to the current RSS just before (`/proc/self/clear_refs`), so neither Node's
 * startup (type stripping peaks higher than an idle process) nor the parent counts. Not
 * getrusage's maxRSS: a spawned child inherits in it the RSS the parent had when it forked, and
 * the parent hosts the GCS emulator, which grows by a whole object per upload.
 */
async function measure(work: () => Promise<number>): Promise<ChildResult> {
  global.gc?.();
  const idleRssKb = procStatusKb('VmRSS');
  let peakReset = true;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    peakReset = false; // VmHWM then includes startup: an upper bound
  }
  const before = process.resourceUsage();
  const started = performance.now();
  const bytes = await work();
  const ms = performance.now() - started;
  const after = process.resourceUsage();
  return { ms, bytes, idleRssKb, peakRssKb: procStatusKb('VmHWM'), peakReset, cpuS: cpuSeconds(before, after) };
}

/** A field of /proc/self/status in kB. */
function procStatusKb(field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/self/status`);
  return Number(match[1]);
}

function cpuSeconds(before: NodeJS.ResourceUsage, after: NodeJS.ResourceUsage): number {
  return (after.userCPUTime + after.systemCPUTime - before.userCPUTime - before.systemCPUTime) / 1e6;
}

// ---------------------------------------------------------------------------------------------
// The parent: servers, runs, report.

/** The child running now, killed on a signal (it would outlive the servers it talks to). */
let current: ChildProcess | undefined;

/** Runs one child job; resolves with its report, rejects with its stderr on failure. */
function runChild(job: Job, config: ChildConfig): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const timeout = Math.max(120_000, (config.bytes / (1024 * MiB)) * CHILD_TIMEOUT_MS_PER_GIB);
    const proc = spawn(process.execPath, ['--expose-gc', SELF, '--child', job, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout,
      killSignal: 'SIGKILL',
    });
    current = proc;
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.once('error', reject);
    proc.once('close', (code, signal) => {
      current = undefined;
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code === 0) {
        try {
          resolve(JSON.parse(last) as ChildResult);
          return;
        } catch {
          // fall through to the error
        }
      }
      const why = signal === 'SIGKILL' ? `killed after ${timeout / 1000} s` : `exit ${code ?? signal}`;
      reject(new Error(`${LABELS[job]} child failed (${why}):\n${stderr}${stdout}`));
    });
  });
}

async function main(cleanup: Cleanup): Promise<void> {
  // Default 2 runs, not the other parts' 3: one run of 1 GiB x 3 backends takes ~1.7 min here
  // (the local servers upload at ~20-30 MiB/s), so 3 runs would take over 5 min.
  const runsVar = process.env['BENCH_STORAGE_RUNS'] !== undefined ? 'BENCH_STORAGE_RUNS' : 'BENCH_RUNS';
  const runs = Number(process.env[runsVar] ?? '2');
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`${runsVar} must be a positive whole number, got ${process.env[runsVar]}`);
  const mib = Number(process.env['BENCH_STORAGE_MB'] ?? '1024');
  if (!Number.isInteger(mib) || mib < 1) throw new Error(`BENCH_STORAGE_MB must be a positive whole number (MiB), got ${process.env['BENCH_STORAGE_MB']}`);
  const bytes = mib * MiB;

  const root = await mkdtemp(join(tmpdir(), 'nixedge-bench-storage-'));
  cleanup.add(`temp dir ${root}`, () => removeDir(root));
  const rawDir = join(root, 'raw');
  const fsDir = join(root, 'filesystem');
  const r2Dir = join(root, 'r2');
  await Promise.all([rawDir, fsDir, r2Dir].map((dir) => mkdir(dir)));

  progress('starting wrangler dev (local R2) and the GCS emulator (not timed)');
  const { startWranglerDev, localR2S3 } = await import('../local-stack/wrangler-dev.ts');
  const { R2_ONLY } = await import('../test/support/r2-only.ts');
  const { startGcsEmulator } = await import('../local-stack/gcs-emulator.ts');
  const dev = await startWranglerDev({ config: R2_ONLY.config, persistTo: r2Dir });
  cleanup.add('wrangler dev', () => dev.stop());
  const r2 = localR2S3(dev, R2_ONLY);
  const gcs = await startGcsEmulator({ projectId: 'nixedge-bench' });
  cleanup.add('GCS emulator', () => gcs.stop());
  const emulatorRssBeforeKb = procStatusKb('VmHWM');

  const configs: Record<Job, ChildConfig> = {
    raw: { bytes, dir: rawDir },
    filesystem: { bytes, dir: fsDir },
    s3: { bytes, s3: { endpoint: r2.endpoint, bucket: r2.bucket, region: r2.region, accessKeyId: r2.accessKeyId, secretAccessKey: r2.secretAccessKey } },
    gcs: { bytes, gcs: { endpoint: gcs.endpoint, projectId: gcs.projectId, bucket: GCS_BUCKET } },
  };
  const results: Record<Job, ChildResult[]> = { raw: [], filesystem: [], s3: [], gcs: [] };
  for (let i = 1; i <= runs; i++) {
    for (const job of ['raw', ...BACKENDS] as const) {
      await run('sync'); // the previous step's dirty pages go to disk now, untimed
      progress(`run ${i}/${runs}: ${LABELS[job]}, ${mib} MiB`);
      const machineBefore = await machineCpuSeconds();
      const result = await runChild(job, { ...configs[job], key: `layers/bench-storage-${process.pid}-${i}` });
      const machineAfter = await machineCpuSeconds();
      // Over the child's whole life (startup and check included), a little longer than the upload.
      const busy = machineAfter.busy - machineBefore.busy;
      result.machineBusyCores = (busy / (busy + machineAfter.idle - machineBefore.idle)) * availableParallelism();
      results[job].push(result);
      progress(
        `run ${i}/${runs}: ${LABELS[job]} ${seconds(result.ms)} = ${rate(result).toFixed(0)} MiB/s, peak RSS ${mb(result.peakRssKb)} MB, ` +
          `machine busy ${result.machineBusyCores.toFixed(2)} of ${availableParallelism()} cores`,
      );
    }
  }
  const emulatorRssAfterKb = procStatusKb('VmHWM');
  report(mib, runs, results, { beforeKb: emulatorRssBeforeKb, afterKb: emulatorRssAfterKb });
}

function report(mib: number, runs: number, results: Record<Job, ChildResult[]>, emulator: { beforeKb: number; afterKb: number }): void {
  const raw = median(results.raw.map(rate));
  const lines = [
    `nixedge storage benchmark: Storage.writeStream of one ${mib} MiB incompressible stream (${CHUNK / 1024} KiB chunks) per backend, ${runs} runs (medians), each upload in its own process`,
    '',
  ];
  for (const job of ['raw', ...BACKENDS] as const) {
    const rs = results[job];
    const ms = median(rs.map((r) => r.ms));
    const speed = median(rs.map(rate));
    const peak = median(rs.map((r) => r.peakRssKb));
    const idle = median(rs.map((r) => r.idleRssKb));
    const cpu = median(rs.map((r) => r.cpuS));
    const perRun =
      `runs: ${rs.map((r) => `${rate(r).toFixed(0)} MiB/s`).join(', ')}; peak RSS ${rs.map((r) => mb(r.peakRssKb)).join(', ')} MB; ` +
      `machine busy ${rs.map((r) => (r.machineBusyCores ?? Number.NaN).toFixed(2)).join(', ')} of ${availableParallelism()} cores`;
    const unreset = rs.some((r) => !r.peakReset) ? ', VmHWM could not be reset: includes startup' : '';
    const memory = `peak RSS ${mb(peak)} MB (${mb(idle)} MB before the upload${unreset}); uploader CPU ${cpu.toFixed(1)} s = ${(cpu / (ms / 1000)).toFixed(2)} cores`;
    if (job === 'raw') {
      lines.push(`${LABELS[job]} (fs.createWriteStream + fsync, the baseline): ${mib} MiB in ${seconds(ms)} = ${speed.toFixed(0)} MiB/s; ${memory} (${perRun})`);
    } else {
      lines.push(
        `${LABELS[job]}: ${mib} MiB in ${seconds(ms)} = ${speed.toFixed(0)} MiB/s (baseline: raw disk write ${raw.toFixed(0)} MiB/s, ratio ${(speed / raw).toFixed(2)}); ${memory} (${perRun})`,
      );
    }
  }
  lines.push(
    '',
    'Notes: the filesystem backend and the baseline fsync; local R2 (workerd) and the GCS emulator write to the same disk without fsync.',
    'The local servers share the machine\'s cores with the uploader (and with other tenants: "machine busy" above): their figures measure the upload path (SDK, HTTP, the server\'s work), not the disk.',
    'Peak RSS: VmHWM of the uploading process, reset just before the upload; "before the upload" = its RSS then (Node, the SDK loaded, the client made).',
    `The GCS emulator runs in the bench process: its peak RSS (VmHWM) rose from ${mb(emulator.beforeKb)} MB to ${mb(emulator.afterKb)} MB over the runs ` +
      `(it reads each finished upload whole into memory to hash it: md5 and a JavaScript crc32c).`,
  );
  process.stdout.write(lines.join('\n') + '\n');
}

function rate(r: ChildResult): number {
  return r.bytes / MiB / (r.ms / 1000);
}

function mb(kb: number): string {
  return ((kb * 1024) / 1e6).toFixed(0);
}

function seconds(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`;
}

// ---------------------------------------------------------------------------------------------

if (process.argv[2] === '--child') {
  const job = process.argv[3] as Job;
  if (!(job in LABELS)) throw new Error(`Expected a job (${Object.keys(LABELS).join(', ')}), got ${String(job)}`);
  const config = JSON.parse(process.argv[4] ?? '{}') as ChildConfig;
  const result = await child(job, config);
  // Exit at once: an SDK's keep-alive sockets or timers must not hold the process.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
} else {
  await runBenchmark(main, () => current?.kill('SIGKILL'));
}
