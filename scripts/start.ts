/**
 * `npm start`: nixedge on this machine, in the production topology: the edge Worker under
 * `wrangler dev` on http://localhost:8787 (EDGE_PORT) with local KV and local R2, the origin
 * behind it on 8788 (ORIGIN_PORT) storing layers in that R2 through its S3 API, a shared secret
 * generated for this run. Package source: the fixture set unless NIXERY_PKGS_PATH,
 * NIXERY_PKGS_REPO or NIXERY_CHANNEL is set. State lives in ./var. Ctrl-C stops both.
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { startLocalEdge } from '../test/support/local-stack.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const edgePort = Number(process.env['EDGE_PORT'] ?? 8787);
const originPort = Number(process.env['ORIGIN_PORT'] ?? 8788);
const persistTo = `${root}var/wrangler`;
await mkdir(persistTo, { recursive: true });

const { edge, originEnv } = await startLocalEdge({ persistTo, edgePort, originPort });
const env: NodeJS.ProcessEnv = { ...process.env, ...originEnv };
if (!env['NIXERY_PKGS_PATH'] && !env['NIXERY_PKGS_REPO'] && !env['NIXERY_CHANNEL']) env['NIXERY_PKGS_PATH'] = `${root}test/fixtures/pkgs`;

const origin = spawn(process.execPath, [`${root}origin/main.ts`], { env, stdio: 'inherit' });
process.stdout.write(
  [
    '',
    `nixedge edge   ${edge.url.replace('127.0.0.1', 'localhost')}   (wrangler dev: local KV, local R2)`,
    `nixedge origin http://localhost:${originPort}   (packages: ${env['NIXERY_PKGS_PATH'] ?? env['NIXERY_PKGS_REPO'] ?? env['NIXERY_CHANNEL']})`,
    `try: docker pull localhost:${edgePort}/shell/hello`,
    `     skopeo copy --src-tls-verify=false docker://localhost:${edgePort}/shell/hello oci:/tmp/hello:latest`,
    'Ctrl-C stops both.',
    '',
  ].join('\n'),
);

let stopping = false;
/** Stops the origin and the edge, then exits. */
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (origin.exitCode === null && origin.signalCode === null) {
    const exited = once(origin, 'exit');
    origin.kill('SIGTERM');
    await exited;
  }
  await edge.stop();
  process.exit(code);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(0));
origin.on('exit', (code) => void stop(code ?? 1));
