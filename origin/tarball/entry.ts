/** One entry of a layer tarball, before it is encoded (see pack.ts). */

/**
 * `path` is relative, without a leading or trailing slash (`nix/store/<hash>-hello/bin/hello`).
 * `mode` holds permission bits only (`& 0o7777`); symlinks carry no mode (tar writes 0777).
 * A file's content comes either from `source` (an absolute host path, streamed, whose size must
 * still be `size` when it is read) or inline from `content`.
 */
export type TarEntry =
  | { type: 'directory'; path: string; mode: number }
  | { type: 'file'; path: string; mode: number; size: number; source: string }
  | { type: 'file'; path: string; mode: number; content: Uint8Array }
  | { type: 'symlink'; path: string; target: string };

/** Orders names the way `tar --sort=name` does: by their UTF-8 bytes, not UTF-16 code units. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
