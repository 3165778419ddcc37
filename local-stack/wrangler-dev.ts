/**
 * Runs `wrangler dev` for tests and scripts: a local Worker in workerd with local KV and R2, and
 * (with `local_dev.experimental_s3_credentials` on an R2 binding) that bucket's S3 API at
 * `<url>/cdn-cgi/local/r2/s3/<bucket>`. Offline-safe: no metrics, no `Request.cf` fetch.
 *
 *   const dev = await startWranglerDev({ config: 'wrangler.toml', persistTo: dir });
 *   try { ... fetch(`${dev.url}/...`) ... } finally { await dev.stop(); }
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is local-stack/wrangler-dev.ts). */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WRANGLER_BIN = join(REPO_ROOT, 'node_modules', '.bin', 'wrangler');

/** How long wrangler may take to answer its first request. */
const START_TIMEOUT_MS = 60_000;
/** How long `stop()` waits after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 5_000;
/** The most output kept for `output()` and error messages. */
const MAX_OUTPUT_CHARS = 256 * 1024;

export interface WranglerDev {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  url: string;
  port: number;
  /** Kills wrangler and everything it started (workerd), and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
  /** Everything wrangler printed so far (stdout and stderr interleaved, capped at the last 256 KiB). */
  output(): string;
}

export interface WranglerDevOptions {
  /** The wrangler.toml to run. */
  config: string;
  /** The port to listen on; 0 or undefined picks a free one. */
  port?: number;
  /** The directory for local KV/R2/D1 state (`--persist-to`). */
  persistTo: string;
  /** Worker variables, passed as `--var KEY:VALUE`. */
  vars?: Record<string, string>;
  /** Extra environment variables for the wrangler process. */
  env?: Record<string, string>;
}

/** The S3 access of an R2 binding served by `wrangler dev` (path style). */
export interface LocalR2S3 {
  /** The S3 endpoint: `<url>/cdn-cgi/local/r2/s3` (the bucket is the first path segment). */
  endpoint: string;
  bucket: string;
  /** Any region signs; R2 uses "auto". */
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The public read URL of `key`: `<url>/cdn-cgi/local/r2/public/<bucket>/<key>`. */
  publicUrl(key: string): string;
}

/** The S3 endpoint and credentials of an R2 bucket served by `dev` (credentials from its wrangler.toml). */
export function localR2S3(
  dev: Pick<WranglerDev, 'url'>,
  bucket: { bucket: string; accessKeyId: string; secretAccessKey: string },
): LocalR2S3 {
  const encodeKey = (key: string): string => key.split('/').map(encodeURIComponent).join('/');
  return {
    endpoint: `${dev.url}/cdn-cgi/local/r2/s3`,
    bucket: bucket.bucket,
    region: 'auto',
    accessKeyId: bucket.accessKeyId,
    secretAccessKey: bucket.secretAccessKey,
    publicUrl: (key) => `${dev.url}/cdn-cgi/local/r2/public/${encodeURIComponent(bucket.bucket)}/${encodeKey(key)}`,
  };
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error(`Expected a TCP address, got ${String(address)}`);
  return address.port;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Signals the child's whole process group (wrangler, its workerd, esbuild), ignoring a gone group. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ESRCH')) throw error;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Starts `wrangler dev` with `options.config` and resolves once its server answers. */
export async function startWranglerDev(options: WranglerDevOptions): Promise<WranglerDev> {
  const port = options.port !== undefined && options.port !== 0 ? options.port : await freePort();
  // Concurrent wrangler instances would all want the default inspector port 9229.
  const inspectorPort = await freePort();
  const args = [
    'dev',
    '--config', resolve(options.config),
    '--port', String(port),
    '--ip', '127.0.0.1',
    '--inspector-port', String(inspectorPort),
    '--inspector-ip', '127.0.0.1',
    '--persist-to', resolve(options.persistTo),
    '--local',
    '--show-interactive-dev-session=false',
    '--live-reload=false',
  ];
  for (const [key, value] of Object.entries(options.vars ?? {})) {
    if (key.length === 0 || key.includes(':')) throw new Error(`Expected a var name without ":", got ${JSON.stringify(key)}`);
    args.push('--var', `${key}:${value}`);
  }

  // wrangler needs a newer Node than the system one: run it with ours (the pinned Node 24).
  const path = [dirname(process.execPath), process.env.PATH ?? ''].filter(Boolean).join(':');
  const child = spawn(WRANGLER_BIN, args, {
    cwd: REPO_ROOT,
    detached: true, // its own process group, so stop() reaches workerd too
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PATH: path,
      CI: 'true',
      WRANGLER_SEND_METRICS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false', // no network: use miniflare's placeholder `Request.cf`
      NO_COLOR: '1',
      FORCE_COLOR: '0',
      ...options.env,
    },
  });

  let captured = '';
  const capture = (chunk: Buffer): void => {
    captured += chunk.toString('utf8');
    if (captured.length > MAX_OUTPUT_CHARS) captured = captured.slice(-MAX_OUTPUT_CHARS);
  };
  child.stdout?.on('data', capture);
  child.stderr?.on('data', capture);
  let spawnError: Error | undefined;
  child.on('error', (error) => {
    spawnError = error;
  });
  const exit = once(child, 'exit').then(() => undefined, () => undefined);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exited(child) || child.pid === undefined) return;
      killGroup(child, 'SIGTERM');
      const timer = delay(STOP_GRACE_MS).then(() => 'timeout' as const);
      if ((await Promise.race([exit.then(() => 'exited' as const), timer])) === 'timeout') {
        killGroup(child, 'SIGKILL');
        await exit;
      }
      // workerd may outlive wrangler by a moment; make sure nothing of the group is left.
      killGroup(child, 'SIGKILL');
    })();
    return stopping;
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  try {
    for (;;) {
      if (spawnError) throw new Error(`Failed to spawn ${WRANGLER_BIN}`, { cause: spawnError });
      if (exited(child)) {
        throw new Error(`Expected wrangler dev to keep running, it exited with ${child.exitCode ?? child.signalCode}`);
      }
      // Any HTTP answer on our port means wrangler serves it: its proxy holds requests until
      // workerd is ready, so the first answer comes from the Worker (or a /cdn-cgi route).
      const answered = await fetch(`${url}/`, { signal: AbortSignal.timeout(2_000) }).then(
        async (response) => {
          await response.body?.cancel();
          return true;
        },
        () => false,
      );
      if (answered && !exited(child)) break;
      if (Date.now() > deadline) {
        throw new Error(`Expected wrangler dev to answer on ${url} within ${START_TIMEOUT_MS / 1000} s, it did not`);
      }
      await delay(200);
    }
  } catch (error) {
    await stop();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n--- wrangler ${args.join(' ')} output ---\n${captured}`, { cause: error });
  }

  return { url, port, stop, output: () => captured };
}
