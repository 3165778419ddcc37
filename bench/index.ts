/**
 * `npm run bench`: the origin benchmark (bench/origin.ts), then the edge benchmark (bench/edge.ts),
 * then the storage benchmark (bench/storage.ts), each in its own Node process, one after the
 * other. Each runs even if an earlier one fails; the exit code is non-zero if any failed.
 * SIGINT/SIGTERM are passed on so each can clean up.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PARTS = ['origin.ts', 'edge.ts', 'storage.ts'] as const;

let current: ChildProcess | undefined;
let interrupted: NodeJS.Signals | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    interrupted = signal;
    current?.kill(signal);
  });
}

function runPart(file: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL(file, import.meta.url))], { stdio: 'inherit', env: process.env });
    current = child;
    child.once('error', (error) => {
      process.stderr.write(`bench: could not run ${file}: ${error.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      current = undefined;
      resolve(code ?? (signal === null ? 1 : 128 + (signal === 'SIGINT' ? 2 : 15)));
    });
  });
}

const failed: string[] = [];
for (const part of PARTS) {
  if (interrupted) break;
  process.stderr.write(`bench: running bench/${part}\n`);
  const code = await runPart(part);
  if (code !== 0) {
    failed.push(`bench/${part} (exit ${code})`);
    process.stderr.write(`bench: bench/${part} failed with exit code ${code}\n`);
  }
}
if (interrupted) process.exitCode = interrupted === 'SIGINT' ? 130 : 143;
else if (failed.length > 0) {
  process.stderr.write(`bench: failed: ${failed.join(', ')}\n`);
  process.exitCode = 1;
}
