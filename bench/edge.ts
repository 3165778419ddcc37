/**
 * The edge benchmark (second half of `npm run bench`): cached-manifest GET throughput and latency
 * of the edge Worker (wrangler.toml under `wrangler dev`, KV seeded through the signed write-back),
 * against two baselines serving the very same manifest bytes:
 *
 *   - Debian's docker-registry (the reference distribution registry, filesystem storage), and
 *   - a trivial Worker (bench/trivial-worker) answering the manifest from memory: the runtime's floor.
 *
 * All are driven by the same `wrk` command (bench/load.ts) on 127.0.0.1. `wrangler dev` puts a
 * proxy workerd (with a Durable Object) in front of the Worker's own workerd, so both Workers are
 * also measured directly on the inner workerd's socket ("direct"): that is the number that says
 * what the Worker costs; the "wrangler dev" rows say what a developer sees.
 *
 *   BENCH_RUNS=3 BENCH_DURATION=5 BENCH_CONNECTIONS=32 node bench/edge.ts
 *
 * Runs alternate between servers (rotating the order each round) and medians are reported.
 * Progress goes to stderr, results to stdout. The edge's origin is 127.0.0.1:9 (nothing), so a
 * cache miss fails the run (wrk counts the 5xx) instead of measuring the origin.
 */

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { freePort, startWranglerDev, type WranglerDev } from '../local-stack/wrangler-dev.ts';
import { signRequest } from '../shared/signing.ts';
import { WRITE_BACK_PATH, type WriteBack } from '../shared/protocol.ts';
import { MediaType } from '../shared/media-types.ts';
import { runWrk, wrkCommand, type LoadResult } from './load.ts';
import { machineCpuSeconds, median, positiveIntEnv, procCpuSeconds, progress, removeDir, runBenchmark, type Cleanup } from './support.ts';

const run = promisify(execFile);

const REPO = fileURLToPath(new URL('..', import.meta.url));
const EDGE_CONFIG = join(REPO, 'wrangler.toml');
const TRIVIAL_CONFIG = join(REPO, 'bench/trivial-worker/wrangler.toml');
const REGISTRY_CONFIG = join(REPO, 'bench/registry/config.yml');

const RUNS = positiveIntEnv('BENCH_RUNS', 3);
const DURATION_SECONDS = positiveIntEnv('BENCH_DURATION', 5);
const CONNECTIONS = positiveIntEnv('BENCH_CONNECTIONS', 32);
const THREADS = 2;
const WARMUP_SECONDS = 2;
const ACCEPT = MediaType.dockerManifest;
const LOAD = { threads: THREADS, connections: CONNECTIONS, durationSeconds: DURATION_SECONDS, headers: { Accept: ACCEPT } };
const GOAL = { overRegistryThroughput: 1.5, overTrivialThroughput: 0.8 };
const IMAGE_NAME = 'shell/hello';
const TAG = 'latest';
/**
 * wrangler dev logs every request through its Node process (the proxy's miniflare POSTs each log
 * line to Node over HTTP) unless its log level is below info: that is a dev-only cost on the hot
 * path, so both Workers run with it off. BENCH_WRANGLER_LOG=info measures it.
 */
const WRANGLER_LOG = process.env['BENCH_WRANGLER_LOG'] ?? 'warn';
/**
 * The edge's own line per request (edge/request-log.ts), off as docker-registry's access log is
 * off (bench/registry/config.yml): under wrangler dev each console line crosses to its Node
 * process, a cost Workers Logs does not have in production. BENCH_REQUEST_LOG=on measures it.
 */
const REQUEST_LOG = process.env['BENCH_REQUEST_LOG'] ?? 'off';

/** A progress line on stderr, naming this part of `npm run bench`. */
function log(message: string): void {
  progress(`edge: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// The image: a real gzip tar layer, a config naming its diff_id, and its two manifests

interface Blob {
  digest: `sha256:${string}`;
  bytes: Buffer;
}

interface BenchImage {
  layer: Blob;
  config: Blob;
  docker: { body: string; digest: `sha256:${string}` };
  oci: { body: string; digest: `sha256:${string}` };
}

/** The OCI digest (`sha256:<hex>`) of some bytes. */
function sha256(bytes: Buffer | string): `sha256:${string}` {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** One regular file in a ustar archive (header, content, padding to 512). */
function tarFile(name: string, content: Buffer, mode: number): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string): void => {
    header.write(value, offset, length, 'ascii');
  };
  const octal = (value: number, length: number): string => value.toString(8).padStart(length - 1, '0');
  field(0, 100, name);
  field(100, 8, octal(mode, 8));
  field(108, 8, octal(0, 8));
  field(116, 8, octal(0, 8));
  field(124, 12, octal(content.length, 12));
  field(136, 12, octal(1, 12));
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 6, 'ustar');
  field(263, 2, '00');
  let checksum = 0;
  for (const byte of header) checksum += byte;
  field(148, 8, `${octal(checksum, 7)}\0`);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding]);
}

/** A one-layer image (a real gzip tar), its config and both manifests, built in memory. */
function makeImage(): BenchImage {
  const tar = Buffer.concat([
    tarFile('hello', Buffer.from('#!/bin/sh\necho Hello, world!\n'), 0o755),
    tarFile('etc/motd', Buffer.from('nixedge bench image\n'), 0o644),
    Buffer.alloc(1024),
  ]);
  const layer = gzipSync(tar, { level: 6 });
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/hello'], Env: ['PATH=/'] },
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      history: [{ created_by: 'nixedge bench/edge.ts' }],
    }),
  );
  const manifest = (oci: boolean): string =>
    JSON.stringify({
      schemaVersion: 2,
      mediaType: oci ? MediaType.ociManifest : MediaType.dockerManifest,
      config: { mediaType: oci ? MediaType.ociConfig : MediaType.dockerConfig, size: config.length, digest: sha256(config) },
      layers: [{ mediaType: oci ? MediaType.ociLayerGzip : MediaType.dockerLayerGzip, size: layer.length, digest: sha256(layer) }],
    });
  const docker = manifest(false);
  const oci = manifest(true);
  return {
    layer: { digest: sha256(layer), bytes: layer },
    config: { digest: sha256(config), bytes: config },
    docker: { body: docker, digest: sha256(docker) },
    oci: { body: oci, digest: sha256(oci) },
  };
}

// ---------------------------------------------------------------------------------------------
// Verification: the exact bytes and digest, before anything is measured

/** Throws unless `url` answers the exact Docker manifest bytes, digest, type and `extra` headers. */
async function expectManifest(label: string, url: string, image: BenchImage, extra: Record<string, string> = {}): Promise<void> {
  const response = await fetch(url, { headers: { Accept: ACCEPT, 'Accept-Encoding': 'identity' }, signal: AbortSignal.timeout(10_000) });
  const body = Buffer.from(await response.arrayBuffer());
  const problems: string[] = [];
  if (response.status !== 200) problems.push(`status ${response.status}`);
  if (!body.equals(Buffer.from(image.docker.body))) problems.push(`body differs (${body.length} bytes: ${body.toString('utf8').slice(0, 200)})`);
  if (response.headers.get('docker-content-digest') !== image.docker.digest) {
    problems.push(`Docker-Content-Digest ${response.headers.get('docker-content-digest')}, expected ${image.docker.digest}`);
  }
  if (response.headers.get('content-type') !== MediaType.dockerManifest) problems.push(`Content-Type ${response.headers.get('content-type')}`);
  for (const [header, value] of Object.entries(extra)) {
    if (response.headers.get(header) !== value) problems.push(`${header} ${response.headers.get(header)}, expected ${value}`);
  }
  if (problems.length > 0) throw new Error(`${label}: GET ${url} is not the manifest: ${problems.join('; ')}`);
}

// ---------------------------------------------------------------------------------------------
// docker-registry

interface Registry {
  url: string;
  pid: number;
}

/** Starts Debian's docker-registry on a free port with filesystem storage in `storage`; stopped by `cleanup`. */
async function startRegistry(storage: string, cleanup: Cleanup): Promise<Registry> {
  const port = await freePort();
  const child = spawn('docker-registry', ['serve', REGISTRY_CONFIG], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, REGISTRY_HTTP_ADDR: `127.0.0.1:${port}`, REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: storage },
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-64 * 1024)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-64 * 1024)));
  cleanup.add('docker-registry', () => stopChild(child));
  const spawned = await Promise.race([once(child, 'spawn').then(() => true), once(child, 'error').then(() => false)]);
  if (!spawned || child.pid === undefined) throw new Error('could not run docker-registry: apt-get install -y docker-registry');
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}):\n${output}`);
    const ok = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`docker-registry did not answer on ${url}:\n${output}`);
    await delay(100);
  }
  return { url, pid: child.pid };
}

/** Stops a child process: SIGTERM, SIGKILL after 5 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Pushes the blobs and the Docker manifest with the registry HTTP API (monolithic uploads). */
async function pushToRegistry(registry: Registry, image: BenchImage): Promise<void> {
  for (const blob of [image.config, image.layer]) {
    const started = await fetch(`${registry.url}/v2/${IMAGE_NAME}/blobs/uploads/`, { method: 'POST' });
    await started.body?.cancel();
    const location = started.headers.get('location');
    if (started.status !== 202 || !location) throw new Error(`docker-registry: starting an upload answered ${started.status}`);
    const uploadUrl = new URL(location, registry.url);
    uploadUrl.searchParams.set('digest', blob.digest);
    const put = await fetch(uploadUrl, { method: 'PUT', body: blob.bytes, headers: { 'Content-Type': 'application/octet-stream' } });
    if (put.status !== 201) throw new Error(`docker-registry: uploading ${blob.digest} answered ${put.status}: ${await put.text()}`);
    await put.body?.cancel();
  }
  const put = await fetch(`${registry.url}/v2/${IMAGE_NAME}/manifests/${TAG}`, {
    method: 'PUT',
    body: image.docker.body,
    headers: { 'Content-Type': MediaType.dockerManifest },
  });
  if (put.status !== 201) throw new Error(`docker-registry: pushing the manifest answered ${put.status}: ${await put.text()}`);
  await put.body?.cancel();
  if (put.headers.get('docker-content-digest') !== image.docker.digest) {
    throw new Error(`docker-registry: the manifest got digest ${put.headers.get('docker-content-digest')}, expected ${image.docker.digest}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The Workers under wrangler dev

/** Starts a Worker under wrangler dev with its own persisted state under `root`; stopped by `cleanup`. */
async function startWorker(label: string, config: string, root: string, vars: Record<string, string>, cleanup: Cleanup): Promise<WranglerDev> {
  const persistTo = await mkdtemp(join(root, `${label}-state-`));
  const dev = await startWranglerDev({ config, persistTo, vars, env: { WRANGLER_LOG } });
  cleanup.add(`wrangler dev (${label})`, () => dev.stop());
  return dev;
}

/** Seeds the edge's KV through its real, signed write-back endpoint. */
async function seedEdge(dev: WranglerDev, secret: string, image: BenchImage): Promise<void> {
  const writeBack: WriteBack = {
    tag: {
      name: IMAGE_NAME,
      tag: TAG,
      pinned: true,
      manifests: {
        oci: { digest: image.oci.digest, size: Buffer.byteLength(image.oci.body) },
        docker: { digest: image.docker.digest, size: Buffer.byteLength(image.docker.body) },
      },
    },
    manifests: [
      { digest: image.oci.digest, mediaType: MediaType.ociManifest, body: image.oci.body },
      { digest: image.docker.digest, mediaType: MediaType.dockerManifest, body: image.docker.body },
    ],
    blobs: [
      { digest: image.layer.digest, size: image.layer.bytes.length },
      { digest: image.config.digest, size: image.config.bytes.length },
    ],
  };
  const body = JSON.stringify(writeBack);
  const signature = await signRequest(secret, { direction: 'origin-to-edge', method: 'POST', pathAndQuery: WRITE_BACK_PATH, body: new TextEncoder().encode(body) });
  const response = await fetch(`${dev.url}${WRITE_BACK_PATH}`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/json', ...signature },
  });
  if (response.status !== 204) throw new Error(`edge: the write-back answered ${response.status}: ${await response.text()}`);
}

interface Proc {
  pid: number;
  ppid: number;
  name: string;
  args: string;
}

/** Every process on the machine from /proc (pid, parent, name, command line). */
async function processes(): Promise<Proc[]> {
  const result: Proc[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const args = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').join(' ').trim();
      result.push({ pid: Number(entry), ppid: Number(fields[1]), name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), args });
    } catch {
      // gone
    }
  }
  return result;
}

/** Listening TCP ports on 127.0.0.1 by pid (`ss -Hltnp`). */
async function listeningPorts(): Promise<Map<number, number[]>> {
  const { stdout } = await run('ss', ['-Hltnp']);
  const ports = new Map<number, number[]>();
  for (const line of stdout.split('\n')) {
    const address = /127\.0\.0\.1:(\d+)\s/.exec(line);
    if (!address) continue;
    for (const match of line.matchAll(/pid=(\d+)/g)) {
      const pid = Number(match[1]);
      ports.set(pid, [...(ports.get(pid) ?? []), Number(address[1])]);
    }
  }
  return ports;
}

/** The processes of one `wrangler dev`: its Node process, the proxy workerd and the Worker's workerd. */
interface WorkerProcesses {
  node: number;
  proxy: number;
  inner: number;
  /** The inner workerd's entry socket, found by asking each of its ports for the manifest. */
  directUrl: string | undefined;
}

/** Finds the processes of a `wrangler dev` and the inner workerd's socket that serves `path`. */
async function workerProcesses(dev: WranglerDev, image: BenchImage, path: string): Promise<WorkerProcesses> {
  const ports = await listeningPorts();
  const proxy = [...ports].find(([, list]) => list.includes(dev.port))?.[0];
  if (proxy === undefined) throw new Error(`no process listens on ${dev.port}`);
  const all = await processes();
  const node = all.find((p) => p.pid === proxy)?.ppid;
  const inner = all.find((p) => p.ppid === node && p.pid !== proxy && p.name === 'workerd')?.pid;
  if (node === undefined || inner === undefined) throw new Error(`could not find the workerd processes of wrangler dev on ${dev.port}`);
  let directUrl: string | undefined;
  for (const port of ports.get(inner) ?? []) {
    const url = `http://127.0.0.1:${port}${path}`;
    const found = await expectManifest('direct', url, image).then(
      () => true,
      () => false,
    );
    if (found) {
      directUrl = `http://127.0.0.1:${port}`;
      break;
    }
  }
  return { node, proxy, inner, directUrl };
}

/** workerProcesses, asked again a few times: the inner workerd's sockets may still be settling. */
async function findWorkerProcesses(dev: WranglerDev, image: BenchImage, path: string): Promise<WorkerProcesses> {
  for (let attempt = 1; ; attempt++) {
    const found = await workerProcesses(dev, image, path);
    if (found.directUrl !== undefined || attempt === 5) return found;
    await delay(1000);
  }
}

// ---------------------------------------------------------------------------------------------
// CPU accounting per process, to say what limits the numbers

/** CPU seconds a process has used so far, NaN once it is gone (wrangler dev may restart a workerd). */
async function cpuSeconds(pid: number): Promise<number> {
  return procCpuSeconds(pid).then(
    (cpu) => cpu.self,
    () => Number.NaN,
  );
}

// ---------------------------------------------------------------------------------------------
// Measurement

interface Target {
  key: string;
  label: string;
  url: string;
  /**
   * Finds the URL again before each run: wrangler dev rebuilds and reloads the Worker when a source
   * file changes (others edit this repository), and the inner workerd's socket may then move.
   */
  resolve?: () => Promise<{ url: string; pids?: Record<string, number> }>;
  /** The server's processes, for CPU per request: name -> pid. */
  pids: Record<string, number>;
}

interface Sample extends LoadResult {
  /** CPU microseconds per request, by process (and wrk), and machine utilisation (0..1 of all cores). */
  cpuUsPerRequest: Record<string, number>;
  machineUtilisation: number;
}

/** One measurement; a Worker's run that fails (a reload mid-run) is retried once, said on stderr. */
async function measure(target: Target, durationSeconds: number): Promise<Sample> {
  try {
    return await measureOnce(target, durationSeconds);
  } catch (error) {
    if (target.resolve === undefined) throw error;
    log(`${target.label}: run failed (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); retrying once`);
    await delay(2000);
    return measureOnce(target, durationSeconds);
  }
}

/** One wrk run against a target, with CPU per request of its processes and the machine's utilisation. */
async function measureOnce(target: Target, durationSeconds: number): Promise<Sample> {
  if (target.resolve !== undefined) {
    const found = await target.resolve();
    target.url = found.url;
    if (found.pids !== undefined) target.pids = found.pids;
  }
  const before = Object.fromEntries(await Promise.all(Object.entries(target.pids).map(async ([name, pid]) => [name, await cpuSeconds(pid)] as const)));
  const machineBefore = await machineCpuSeconds();
  const result = await runWrk({ ...LOAD, durationSeconds, url: target.url });
  const machineAfter = await machineCpuSeconds();
  const cpuUsPerRequest: Record<string, number> = {};
  for (const [name, pid] of Object.entries(target.pids)) {
    cpuUsPerRequest[name] = (((await cpuSeconds(pid)) - before[name]!) * 1e6) / result.requests;
  }
  cpuUsPerRequest['wrk'] = (result.wrkCpuSeconds * 1e6) / result.requests;
  const busy = machineAfter.busy - machineBefore.busy;
  const machineUtilisation = busy / (busy + machineAfter.idle - machineBefore.idle);
  return { ...result, cpuUsPerRequest, machineUtilisation };
}

/** Starts the three servers, checks they serve the manifest, then measures them in alternating rounds. */
async function main(cleanup: Cleanup): Promise<void> {
  for (const tool of ['wrk', 'docker-registry', 'ss']) {
    await run('sh', ['-c', `command -v ${tool}`]).catch(() => {
      throw new Error(`${tool} is not installed (apt-get install -y wrk docker-registry iproute2)`);
    });
  }
  const root = await mkdtemp(join(tmpdir(), 'nixedge-bench-edge-'));
  cleanup.add(`temp dir ${root}`, () => removeDir(root));
  const image = makeImage();
  const tagPath = `/v2/${IMAGE_NAME}/manifests/${TAG}`;
  const digestPath = `/v2/${IMAGE_NAME}/manifests/${image.docker.digest}`;
  log(`manifest ${image.docker.digest} (${Buffer.byteLength(image.docker.body)} bytes), layer ${image.layer.bytes.length} bytes`);

  log('starting docker-registry');
  const registry = await startRegistry(join(root, 'registry'), cleanup);
  await pushToRegistry(registry, image);
  await expectManifest('docker-registry', `${registry.url}${tagPath}`, image);
  await expectManifest('docker-registry', `${registry.url}${digestPath}`, image);

  log('starting the edge (wrangler dev)');
  const secret = randomBytes(30).toString('base64url').slice(0, 40);
  const edge = await startWorker('edge', EDGE_CONFIG, root, { NIXEDGE_SHARED_SECRET: secret, ORIGIN_URL: 'http://127.0.0.1:9', REQUEST_LOG }, cleanup);
  await seedEdge(edge, secret, image);
  await expectManifest('edge', `${edge.url}${tagPath}`, image, { 'x-nixedge-cache': 'HIT' });
  await expectManifest('edge', `${edge.url}${digestPath}`, image, { 'x-nixedge-cache': 'HIT' });

  log('starting the trivial Worker (wrangler dev)');
  const trivial = await startWorker('trivial', TRIVIAL_CONFIG, root, {
    MANIFEST_BASE64: Buffer.from(image.docker.body).toString('base64'),
    MANIFEST_DIGEST: image.docker.digest,
    MANIFEST_MEDIA_TYPE: MediaType.dockerManifest,
  }, cleanup);
  await expectManifest('trivial Worker', `${trivial.url}${tagPath}`, image, { 'x-nixedge-cache': 'HIT' });

  const edgeProcs = await findWorkerProcesses(edge, image, tagPath);
  const trivialProcs = await findWorkerProcesses(trivial, image, tagPath);
  const wranglerPids = (p: WorkerProcesses): Record<string, number> => ({ 'proxy workerd': p.proxy, 'worker workerd': p.inner, 'wrangler node': p.node });
  const directPids = (p: WorkerProcesses): Record<string, number> => ({ 'worker workerd': p.inner, 'proxy workerd': p.proxy, 'wrangler node': p.node });

  const direct = (dev: WranglerDev, path: string) => async (): Promise<{ url: string; pids: Record<string, number> }> => {
    const found = await findWorkerProcesses(dev, image, tagPath);
    if (found.directUrl === undefined) throw new Error(`the inner workerd of wrangler dev on ${dev.port} no longer answers:\n${dev.output().slice(-2000)}`);
    return { url: `${found.directUrl}${path}`, pids: directPids(found) };
  };
  const proxied = (dev: WranglerDev, path: string) => async (): Promise<{ url: string; pids: Record<string, number> }> => ({
    url: `${dev.url}${path}`,
    pids: wranglerPids(await findWorkerProcesses(dev, image, tagPath)),
  });
  const targets: Target[] = [
    { key: 'edge', label: 'nixedge edge, by tag (wrangler dev)', url: `${edge.url}${tagPath}`, pids: wranglerPids(edgeProcs), resolve: proxied(edge, tagPath) },
    { key: 'edge-digest', label: 'nixedge edge, by digest (wrangler dev)', url: `${edge.url}${digestPath}`, pids: wranglerPids(edgeProcs), resolve: proxied(edge, digestPath) },
    { key: 'registry', label: 'docker-registry, by tag', url: `${registry.url}${tagPath}`, pids: { 'docker-registry': registry.pid } },
    { key: 'trivial', label: 'trivial Worker (wrangler dev)', url: `${trivial.url}${tagPath}`, pids: wranglerPids(trivialProcs), resolve: proxied(trivial, tagPath) },
  ];
  if (edgeProcs.directUrl !== undefined && trivialProcs.directUrl !== undefined) {
    await expectManifest('edge direct', `${edgeProcs.directUrl}${tagPath}`, image, { 'x-nixedge-cache': 'HIT' });
    await expectManifest('edge direct', `${edgeProcs.directUrl}${digestPath}`, image, { 'x-nixedge-cache': 'HIT' });
    targets.push(
      { key: 'edge-direct', label: 'nixedge edge, by tag (workerd direct)', url: `${edgeProcs.directUrl}${tagPath}`, pids: directPids(edgeProcs), resolve: direct(edge, tagPath) },
      { key: 'edge-digest-direct', label: 'nixedge edge, by digest (workerd direct)', url: `${edgeProcs.directUrl}${digestPath}`, pids: directPids(edgeProcs), resolve: direct(edge, digestPath) },
      { key: 'trivial-direct', label: 'trivial Worker (workerd direct)', url: `${trivialProcs.directUrl}${tagPath}`, pids: directPids(trivialProcs), resolve: direct(trivial, tagPath) },
    );
  } else {
    log("could not find the inner workerd's entry socket: measuring through wrangler dev's proxy only");
  }

  log(`warming up (${WARMUP_SECONDS} s each)`);
  for (const target of targets) await measure(target, WARMUP_SECONDS);

  const samples = new Map<string, Sample[]>(targets.map((t) => [t.key, []]));
  for (let round = 0; round < RUNS; round++) {
    // Rotate the order each round so no server always runs first or right after another.
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    for (const target of order) {
      const sample = await measure(target, DURATION_SECONDS);
      samples.get(target.key)!.push(sample);
      log(`run ${round + 1}/${RUNS} ${target.label}: ${sample.requestsPerSecond.toFixed(0)} req/s, p50 ${sample.p50Ms.toFixed(2)} ms, p99 ${sample.p99Ms.toFixed(2)} ms`);
    }
  }
  // Nothing may have gone to the origin: the edge still answers from KV.
  await expectManifest('edge (after the runs)', `${edge.url}${tagPath}`, image, { 'x-nixedge-cache': 'HIT' });

  report(targets, samples);
}

/** Prints the medians per server and the ratios against the goals to stdout. */
function report(targets: Target[], samples: Map<string, Sample[]>): void {
  const summary = new Map(
    targets.map((t) => {
      const s = samples.get(t.key)!;
      const cpuNames = Object.keys(s[0]!.cpuUsPerRequest);
      return [
        t.key,
        {
          rps: median(s.map((x) => x.requestsPerSecond)),
          p50: median(s.map((x) => x.p50Ms)),
          p99: median(s.map((x) => x.p99Ms)),
          util: median(s.map((x) => x.machineUtilisation)),
          cpu: Object.fromEntries(cpuNames.map((n) => [n, median(s.map((x) => x.cpuUsPerRequest[n]!))])),
          runs: s.map((x) => x.requestsPerSecond.toFixed(0)).join(', '),
        },
      ] as const;
    }),
  );
  const lines: string[] = [];
  lines.push(`edge hit path: GET of a cached manifest (${IMAGE_NAME}:${TAG}, Docker v2 schema 2), all servers on 127.0.0.1, ${availableParallelism()} cores`);
  lines.push(`load: ${wrkCommand(LOAD)} (threads ${THREADS}, connections ${CONNECTIONS}, duration ${DURATION_SECONDS} s), ${RUNS} runs each alternating servers, medians; wrangler log level ${WRANGLER_LOG}; edge request log ${REQUEST_LOG}`);
  lines.push('');
  const width = Math.max(...targets.map((t) => t.label.length));
  lines.push(`${'server'.padEnd(width)}  ${'req/s'.padStart(8)}  ${'p50'.padStart(9)}  ${'p99'.padStart(9)}  ${'CPU busy'.padStart(8)}  CPU per request (median)        runs (req/s)`);
  for (const t of targets) {
    const s = summary.get(t.key)!;
    const cpu = Object.entries(s.cpu)
      .filter(([, us]) => Number.isFinite(us) && us >= 0.5)
      .map(([name, us]) => `${name} ${us.toFixed(0)} us`)
      .join(', ');
    lines.push(
      `${t.label.padEnd(width)}  ${s.rps.toFixed(0).padStart(8)}  ${`${s.p50.toFixed(2)} ms`.padStart(9)}  ${`${s.p99.toFixed(2)} ms`.padStart(9)}  ${`${(s.util * 100).toFixed(0)}%`.padStart(8)}  ${cpu}  [${s.runs}]`,
    );
  }
  lines.push('');
  const ratio = (a: string, b: string, field: 'rps' | 'p99'): number => summary.get(a)![field] / summary.get(b)![field];
  const verdict = (ok: boolean): string => (ok ? 'meets goal' : 'MISSES goal');
  const tput = ratio('edge', 'registry', 'rps');
  const p99 = ratio('edge', 'registry', 'p99');
  const floor = ratio('edge', 'trivial', 'rps');
  lines.push(`edge / docker-registry throughput (by tag, wrangler dev): ${tput.toFixed(2)}x (goal >= ${GOAL.overRegistryThroughput}x: ${verdict(tput >= GOAL.overRegistryThroughput)})`);
  lines.push(`edge / docker-registry p99 (by tag, wrangler dev): ${p99.toFixed(2)}x (goal <= 1.00x, no worse: ${verdict(p99 <= 1)})`);
  lines.push(`edge / trivial Worker throughput (by tag, wrangler dev): ${floor.toFixed(2)}x (goal >= ${GOAL.overTrivialThroughput}x: ${verdict(floor >= GOAL.overTrivialThroughput)})`);
  if (summary.has('edge-direct')) {
    const dTput = ratio('edge-direct', 'registry', 'rps');
    const dP99 = ratio('edge-direct', 'registry', 'p99');
    const dFloor = ratio('edge-direct', 'trivial-direct', 'rps');
    lines.push(`edge / docker-registry throughput (by tag, workerd direct): ${dTput.toFixed(2)}x (goal >= ${GOAL.overRegistryThroughput}x: ${verdict(dTput >= GOAL.overRegistryThroughput)})`);
    lines.push(`edge / docker-registry p99 (by tag, workerd direct): ${dP99.toFixed(2)}x (goal <= 1.00x: ${verdict(dP99 <= 1)})`);
    lines.push(`edge / trivial Worker throughput (by tag, workerd direct): ${dFloor.toFixed(2)}x (goal >= ${GOAL.overTrivialThroughput}x: ${verdict(dFloor >= GOAL.overTrivialThroughput)})`);
    lines.push(`wrangler dev's proxy hop: the edge by tag does ${ratio('edge', 'edge-direct', 'rps').toFixed(2)}x the direct throughput, the trivial Worker ${ratio('trivial', 'trivial-direct', 'rps').toFixed(2)}x`);
  }
  lines.push(`edge by digest (one KV read) / by tag (two), wrangler dev: ${ratio('edge-digest', 'edge', 'rps').toFixed(2)}x throughput`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

await runBenchmark(main);
