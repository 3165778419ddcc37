/**
 * `npm start`: nixedge on this machine, in the production topology: the edge Worker under
 * `wrangler dev` on http://localhost:8787 (EDGE_PORT) with local KV and local R2, the origin
 * behind it on 8788 (ORIGIN_PORT) storing layers in that R2 through its S3 API, a shared secret
 * generated for this run. Package source: the fixture set unless NIXERY_PKGS_PATH,
 * NIXERY_PKGS_REPO or NIXERY_CHANNEL is set. State lives in ./var. Ctrl-C stops both.
 *
 * `npm start -- --storage=gcs`: the same on Google Cloud Storage's side instead: the GCS emulator
 * (the Firebase storage emulator) runs in this process, the origin stores layers in it through
 * the JSON API (NIXERY_STORAGE_BACKEND=gcs, GCS_ENDPOINT), and the edge redirects blob GETs to V4
 * signed URLs on it (BLOB_REDIRECT=gcs-signed) made with a service account key generated for
 * this run, whose signatures the emulator checks. The emulator keeps its bytes only while it
 * runs, so the edge's state (./var/wrangler-gcs) starts empty each time too.
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startLocalEdge, startLocalGcs, type LocalGcs } from '../test/support/local-stack.ts';

const usage = 'usage: npm start [-- --storage=r2|gcs]';
let storage: 'r2' | 'gcs';
try {
  const { values } = parseArgs({ options: { storage: { type: 'string', default: 'r2' } }, strict: true, allowPositionals: false });
  if (values.storage !== 'r2' && values.storage !== 'gcs') throw new Error(`Expected --storage to be r2 or gcs, got ${JSON.stringify(values.storage)}`);
  storage = values.storage;
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${usage}\n`);
  process.exit(2);
}

const root = fileURLToPath(new URL('..', import.meta.url));
const edgePort = Number(process.env['EDGE_PORT'] ?? 8787);
const originPort = Number(process.env['ORIGIN_PORT'] ?? 8788);
const persistTo = storage === 'gcs' ? `${root}var/wrangler-gcs` : `${root}var/wrangler`;
// The emulator's bytes live only as long as this process: KV entries naming them must go too.
if (storage === 'gcs') await rm(persistTo, { recursive: true, force: true });
await mkdir(persistTo, { recursive: true });

let gcs: LocalGcs | undefined;
if (storage === 'gcs') gcs = await startLocalGcs();
let started: Awaited<ReturnType<typeof startLocalEdge>>;
try {
  started = await startLocalEdge({ persistTo, edgePort, originPort, ...(gcs ? { gcs: gcs.target } : {}) });
} catch (error) {
  await gcs?.stop();
  throw error;
}
const { edge, originEnv } = started;
const env: NodeJS.ProcessEnv = { ...process.env, ...originEnv };
if (!env['NIXERY_PKGS_PATH'] && !env['NIXERY_PKGS_REPO'] && !env['NIXERY_CHANNEL']) env['NIXERY_PKGS_PATH'] = `${root}test/fixtures/pkgs`;

const origin = spawn(process.execPath, [`${root}origin/main.ts`], { env, stdio: 'inherit' });
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
    `nixedge origin http://localhost:${originPort}   (${gcs ? 'storage: the GCS emulator; ' : ''}packages: ${env['NIXERY_PKGS_PATH'] ?? env['NIXERY_PKGS_REPO'] ?? env['NIXERY_CHANNEL']})`,
    `try: docker pull localhost:${edgePort}/shell/hello`,
    `     skopeo copy --src-tls-verify=false docker://localhost:${edgePort}/shell/hello oci:/tmp/hello:latest`,
    `Ctrl-C stops ${gcs ? 'all three' : 'both'}.`,
    '',
  ].join('\n'),
);

let stopping = false;
/** Stops the origin, the edge and the emulator, then exits. */
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (origin.exitCode === null && origin.signalCode === null) {
    const exited = once(origin, 'exit');
    origin.kill('SIGTERM');
    await exited;
  }
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
origin.on('exit', (code) => stopReporting(code ?? 1));
