/** Helpers shared by the tarball and customisation tests (temporary trees, tar listings). */

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** A fresh temporary directory; `cleanup` removes it (as root, read-only modes do not matter). */
export async function temporaryDirectory(prefix: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `nixedge-${prefix}-`));
  return {
    path,
    cleanup: async () => {
      await execFileAsync('chmod', ['-R', 'u+rwx', path]).catch(() => undefined);
      await rm(path, { recursive: true, force: true });
    },
  };
}

/** Runs a command, resolving its stdout (buffer) or rejecting with its stderr. */
export async function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Buffer> {
  const { stdout } = await execFileAsync(command, args, {
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...env },
  });
  return stdout;
}

/** Collects a stream into one buffer (test data only). */
export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** `tar -tv --full-time` of a tar (or .tar.gz) file, in UTC, one line per entry, spaces squeezed. */
export async function tarListing(file: string): Promise<string[]> {
  const out = await run('tar', ['--full-time', '-tvf', file], { TZ: 'UTC' });
  return out
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.replace(/ +/g, ' '));
}

/** Every path under `root` with type, permission bits, and size + content hash or link target. */
export async function describeTree(root: string): Promise<string[]> {
  const lines: string[] = [];
  const visit = async (directory: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(directory)).sort()) {
      const path = join(directory, name);
      const relative = `${prefix}${name}`;
      const stats = await lstat(path);
      const mode = (stats.mode & 0o7777).toString(8);
      if (stats.isSymbolicLink()) {
        lines.push(`${relative} symlink -> ${await readlink(path)}`);
      } else if (stats.isDirectory()) {
        lines.push(`${relative} directory ${mode}`);
        await visit(path, `${relative}/`);
      } else {
        const hash = createHash('sha256').update(await readFile(path)).digest('hex');
        lines.push(`${relative} file ${mode} ${stats.size} ${hash}`);
      }
    }
  };
  await visit(root, '');
  return lines;
}

/** sha256 hex of a file, via the coreutils tool (an independent check of our hashing). */
export async function sha256sum(file: string): Promise<string> {
  return (await run('sha256sum', [file])).toString('utf8').split(' ')[0] ?? '';
}
