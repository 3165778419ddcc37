/**
 * End to end: `npm start` (scripts/start.ts) says it is ready only when the edge and the origin
 * both answer, and when one of them cannot start it says which and exits non-zero.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../local-stack/wrangler-dev.ts';
import { tempDir } from './clients.ts';

const START = fileURLToPath(new URL('../../scripts/start.ts', import.meta.url));

interface StartRun {
  /** Resolves with everything printed so far once `pattern` appears on stdout, or rejects on exit. */
  waitFor(pattern: RegExp): Promise<string>;
  exit: Promise<{ code: number | null; stdout: string; stderr: string }>;
  kill(signal: NodeJS.Signals): void;
}

/** Runs `node scripts/start.ts` with its own ports and state directory. */
function runStart(state: string, edgePort: number, originPort: number, env: Record<string, string> = {}): StartRun {
  const child = spawn(process.execPath, [START, `--state=${state}`], {
    env: { ...process.env, EDGE_PORT: String(edgePort), ORIGIN_PORT: String(originPort), NIX_CONFIG: 'substituters =', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = once(child, 'exit').then(([code]) => ({ code: code as number | null, stdout, stderr }));
  return {
    exit,
    kill: (signal) => child.kill(signal),
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(stdout)) resolve(stdout);
        };
        child.stdout.on('data', check);
        check();
        void exit.then(({ code }) => reject(new Error(`npm start exited with ${code} before printing ${pattern}:\n${stdout}\n${stderr}`)));
      }),
  };
}

describe('npm start', () => {
  it('prints its banner only when the edge and the origin both answer, and stops both on SIGINT', async () => {
    const state = await tempDir('start-state');
    const [edgePort, originPort] = [await freePort(), await freePort()];
    const start = runStart(state.path, edgePort, originPort);
    try {
      await start.waitFor(/ready: both answer \/v2\//);
      // The moment the banner is out, a client's first request must work: no 503 window.
      for (const url of [`http://127.0.0.1:${edgePort}/v2/`, `http://127.0.0.1:${originPort}/v2/`]) {
        const response = await fetch(url);
        assert.equal(response.status, 200, url);
      }
      start.kill('SIGINT');
      assert.equal((await start.exit).code, 0);
      await assert.rejects(fetch(`http://127.0.0.1:${edgePort}/v2/`), 'the edge stopped with it');
    } finally {
      start.kill('SIGKILL');
      await state.cleanup();
    }
  });

  it('says which part failed and exits non-zero when the origin cannot start', async () => {
    const state = await tempDir('start-state');
    const [edgePort, originPort] = [await freePort(), await freePort()];
    const start = runStart(state.path, edgePort, originPort, { NIX_CONFIG: 'build-users-group = nixedge-no-such-group' });
    try {
      const { code, stdout, stderr } = await start.exit;
      assert.equal(code, 1);
      assert.match(stderr, /nixedge: the origin failed to start/);
      assert.match(stderr, /build users group "nixedge-no-such-group"/, "the origin's own reason is shown");
      assert.doesNotMatch(stdout, /ready/, 'no banner');
      await assert.rejects(fetch(`http://127.0.0.1:${edgePort}/v2/`), 'the edge was stopped');
    } finally {
      start.kill('SIGKILL');
      await state.cleanup();
    }
  });
});
