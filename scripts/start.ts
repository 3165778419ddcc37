/**
 * `npm start`: nixedge on this machine with embedded defaults — the fixture package set (or the
 * source you configure), filesystem storage under ./var/storage — on http://localhost:8787.
 * Ctrl-C stops it.
 */

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const env: NodeJS.ProcessEnv = { ...process.env };
const hasSource = Boolean(env['NIXERY_PKGS_PATH'] || env['NIXERY_PKGS_REPO'] || env['NIXERY_CHANNEL']);
if (!hasSource) env['NIXERY_PKGS_PATH'] = `${root}test/fixtures/pkgs`;
env['NIXERY_STORAGE_BACKEND'] ??= 'filesystem';
env['STORAGE_PATH'] ??= `${root}var/storage`;
env['PORT'] ??= '8787';

const port = env['PORT'];
process.stdout.write(
  [
    `nixedge on http://localhost:${port}`,
    `  packages: ${env['NIXERY_PKGS_PATH'] ?? env['NIXERY_PKGS_REPO'] ?? env['NIXERY_CHANNEL']}`,
    `  storage:  ${env['STORAGE_PATH']}`,
    `  try:      skopeo copy --src-tls-verify=false docker://localhost:${port}/shell/hello oci:/tmp/hello:latest`,
    `            docker pull localhost:${port}/shell/hello   (localhost registries need no TLS)`,
    '',
  ].join('\n'),
);
const origin = spawn(process.execPath, [`${root}origin/main.ts`], { env, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => origin.kill(signal));
origin.on('exit', (code) => process.exit(code ?? 0));
