/**
 * `npm start`: nixedge on this machine, in the production topology: the edge Worker under
 * `wrangler dev` on http://localhost:8787 (EDGE_PORT) with local KV and local R2, the origin
 * behind it on 8788 (ORIGIN_PORT) storing layers in that R2 through its S3 API, a shared secret
 * generated for this run. Package source: the fixture set unless NIXERY_PKGS_PATH,
 * NIXERY_PKGS_REPO or NIXERY_CHANNEL is set. State lives in ./var (--state). It says it is ready
 * only once both answer /v2/; if either fails to start it says which and exits 1. Ctrl-C stops both.
 *
 * `npm start -- --origins=2`: two origins (ports ORIGIN_PORT and the next) sharing the bucket, the
 * edge spreading misses over them by rendezvous hashing (ORIGIN_URLS).
 *
 * `npm start -- --storage=gcs`: the same on Google Cloud Storage's side instead: the GCS emulator
 * (the Firebase storage emulator) runs in this process, the origin stores layers in it through
 * the JSON API (NIXERY_STORAGE_BACKEND=gcs, GCS_ENDPOINT), and the edge redirects blob GETs to V4
 * signed URLs on it (BLOB_REDIRECT=gcs-signed) made with a service account key generated for
 * this run, whose signatures a check of ours in front of the emulator verifies (the emulator
 * itself ignores them). The emulator keeps its bytes only while it
 * runs, so the edge's state (./var/wrangler-gcs) starts empty each time too.
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startLocalEdge, startLocalGcs, type LocalGcs } from '../local-stack/index.ts';
import { ORIGIN_NODE_FLAGS } from '../local-stack/origin-process.ts';

const usage = 'usage: npm start [-- --storage=r2|gcs] [--origins=<n, default 1>] [--state=<dir, default ./var>]';
const root = fileURLToPath(new URL('..', import.meta.url));
let storage: 'r2' | 'gcs';
let stateDir: string;
let originCount: number;
try {
  const { values } = parseArgs({
    options: { storage: { type: 'string', default: 'r2' }, origins: { type: 'string', default: '1' }, state: { type: 'string', default: `${root}var` } },
    strict: true,
    allowPositionals: false,
  });
  if (values.storage !== 'r2' && values.storage !== 'gcs') throw new Error(`Expected --storage to be r2 or gcs, got ${JSON.stringify(values.storage)}`);
  storage = values.storage;
  stateDir = resolve(values.state);
  if (!/^[1-9]$/.test(values.origins)) throw new Error(`Expected --origins to be 1 to 9, got ${JSON.stringify(values.origins)}`);
  originCount = Number(values.origins);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${usage}\n`);
  process.exit(2);
}

/** How long the origin and the edge may take to answer /v2/ (the origin loads its storage SDK first). */
const READY_TIMEOUT_MS = 120_000;
const edgePort = Number(process.env['EDGE_PORT'] ?? 8787);
const originPort = Number(process.env['ORIGIN_PORT'] ?? 8788);
// Several origins (--origins): consecutive ports, one bucket, the edge spreading misses over them (ORIGIN_URLS).
const originPorts = Array.from({ length: originCount }, (_, i) => originPort + i);
const persistTo = join(stateDir, storage === 'gcs' ? 'wrangler-gcs' : 'wrangler');
// The emulator's bytes live only as long as this process: KV entries naming them must go too.
if (storage === 'gcs') await rm(persistTo, { recursive: true, force: true });
await mkdir(persistTo, { recursive: true });

/** Says which part failed to start, and exits non-zero. */
function fail(message: string): never {
  process.stderr.write(`\nnixedge: ${message}\n`);
  process.exit(1);
}

let gcs: LocalGcs | undefined;
if (storage === 'gcs') {
  gcs = await startLocalGcs().catch((error: unknown) => fail(`the GCS emulator failed to start: ${errorMessage(error)}`));
}
let started: Awaited<ReturnType<typeof startLocalEdge>>;
try {
  started = await startLocalEdge({ persistTo, edgePort, originPort, ...(originCount > 1 ? { originPorts } : {}), ...(gcs ? { gcs: gcs.target } : {}) });
} catch (error) {
  await gcs?.stop();
  fail(`the edge (wrangler dev on port ${edgePort}) failed to start: ${errorMessage(error)}`);
}
const { edge, originEnv } = started;
const env: NodeJS.ProcessEnv = { ...process.env, ...originEnv };
if (!env['NIXERY_PKGS_PATH'] && !env['NIXERY_PKGS_REPO'] && !env['NIXERY_CHANNEL']) env['NIXERY_PKGS_PATH'] = `${root}test/fixtures/pkgs`;

const origins = originPorts.map((port) => spawn(process.execPath, [...ORIGIN_NODE_FLAGS, `${root}origin/main.ts`], { env: { ...env, PORT: String(port) }, stdio: 'inherit' }));
const originExits = origins.map((origin) => once(origin, 'exit').then(() => origin));
const running = (origin: (typeof origins)[number]): boolean => origin.exitCode === null && origin.signalCode === null;
/** Stops every origin still running and waits for each to exit. */
async function stopOrigins(): Promise<void> {
  await Promise.all(
    origins.map(async (origin, index) => {
      if (!running(origin)) return;
      origin.kill('SIGTERM');
      await originExits[index];
    }),
  );
}

// Ready means all answer the registry's base endpoint: each origin directly, and the edge.
const ready = await Promise.race([
  Promise.all([...originPorts.map((port) => answersRegistry(`http://127.0.0.1:${port}/v2/`, READY_TIMEOUT_MS)), answersRegistry(`${edge.url}/v2/`, READY_TIMEOUT_MS)]).then(
    (answers) => {
      const slow = answers.findIndex((answered) => !answered);
      return slow === -1 ? ('ready' as const) : slow < originPorts.length ? { timeout: originPorts[slow] } : { timeout: 'edge' as const };
    },
  ),
  Promise.race(originExits).then((origin) => ({ exited: origin })),
]);
if (ready !== 'ready') {
  const reason =
    'exited' in ready
      ? `the origin${originCount > 1 ? ` on port ${originPorts[origins.indexOf(ready.exited)]}` : ''} failed to start (it exited with ${ready.exited.exitCode ?? ready.exited.signalCode}; its message is above)`
      : ready.timeout !== 'edge'
        ? `the origin did not answer http://127.0.0.1:${ready.timeout}/v2/ within ${READY_TIMEOUT_MS / 1000} s`
        : `the edge did not answer ${edge.url}/v2/ within ${READY_TIMEOUT_MS / 1000} s`;
  await stopOrigins();
  await edge.stop();
  await gcs?.stop();
  fail(reason);
}

const storageLine = gcs
  ? [
      `nixedge edge   ${edge.url.replace('127.0.0.1', 'localhost')}   (wrangler dev: local KV; blobs redirect to GCS V4 signed URLs)`,
      `nixedge gcs    ${gcs.target.endpoint}   (GCS emulator in this process, bucket ${gcs.target.bucket}; signed by ${gcs.account.email}, a key made for this run)`,
    ]
  : [`nixedge edge   ${edge.url.replace('127.0.0.1', 'localhost')}   (wrangler dev: local KV, local R2)`];
process.stdout.write(
  [
    '',
    ...storageLine,
    ...originPorts.map(
      (port) => `nixedge origin http://localhost:${port}   (${gcs ? 'storage: the GCS emulator; ' : ''}packages: ${env['NIXERY_PKGS_PATH'] ?? env['NIXERY_PKGS_REPO'] ?? env['NIXERY_CHANNEL']})`,
    ),
    ...(originCount > 1 ? [`the edge spreads misses over the ${originCount} origins (ORIGIN_URLS, rendezvous hashing); they share one bucket`] : []),
    `ready: ${originCount > 1 ? 'all' : 'both'} answer /v2/. Try:`,
    `     docker pull localhost:${edgePort}/shell/hello`,
    `     skopeo copy --src-tls-verify=false docker://localhost:${edgePort}/shell/hello oci:/tmp/hello:latest`,
    `Ctrl-C stops ${gcs || originCount > 1 ? 'all' : 'both'}.`,
    '',
  ].join('\n'),
);

let stopping = false;
/** Stops the origin, the edge and the emulator, then exits. */
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await stopOrigins();
  await edge.stop();
  await gcs?.stop();
  process.exit(code);
}
/** Stops everything; a failure while stopping is reported, and the exit code says so. */
function stopReporting(code: number): void {
  stop(code).catch((error: unknown) => {
    process.stderr.write(`nixedge: stopping failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stopReporting(0));
for (const origin of origins) origin.on('exit', (code) => stopReporting(code ?? 1));

/** Polls `url` until it answers 200, or `timeoutMs` passes; true when it answered. */
async function answersRegistry(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      async (response) => {
        await response.body?.cancel();
        return response.status === 200;
      },
      () => false,
    );
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
