/**
 * Tar header encoding: the ustar header block(s) of one entry, with a pax header for names or
 * links over ustar's limits (or not ASCII). A port of tar-stream 3.2's headers.encode / encodePax
 * and Pack#_encodePax, so the bytes are the ones tar-stream writes (pack-reference.test.ts
 * compares with tar-stream itself); ported rather than called for speed.
 */

import type { TarEntry } from './entry.ts';

/**
 * Tar's unit: headers are one block, content is padded with zeros to a whole number of blocks.
 * Not exported: V8 folds a module's own constants but reads exported ones through a cell at each
 * use, which the checksum loop would pay.
 */
const BLOCK = 512;
/** The two zero blocks that end a tar; also the source of padding zeros. */
export const END_OF_TAR = Buffer.alloc(2 * BLOCK);

/** Every entry's mtime: 1 s after the epoch (0 reads as "unset" to some tools), as in Nixery. */
const MTIME_SECONDS = 1;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const TYPEFLAG = { file: 0, symlink: 2, directory: 5, pax: 72 } as const;
const ZEROS = '0000000000000000000';
const SEVENS = '7777777777777777777';
const USTAR_MAGIC = Buffer.from('ustar\x0000', 'latin1');
/** The one header block, rewritten for each header (so `emit` must copy it before returning). */
const headerBlock = Buffer.alloc(BLOCK);

interface HeaderFields {
  name: string;
  mode: number;
  size: number;
  typeflag: number;
  linkname: string | undefined;
}

/** The zeros after `size` bytes of content up to the next block boundary; empty on a boundary. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return END_OF_TAR.subarray(0, rest === 0 ? 0 : BLOCK - rest);
}

/**
 * Emits the header block(s) of an entry with content of `size` bytes: one ustar block, or a pax
 * header, its record and a ustar block. Each emitted buffer is only valid until `emit` returns.
 */
export function encodeHeaders(entry: TarEntry, size: number, emit: (bytes: Buffer) => void): void {
  let fields: HeaderFields;
  switch (entry.type) {
    case 'directory':
      // tar-stream does not add the trailing slash tar uses for directory names.
      fields = { name: `${entry.path}/`, mode: S_IFDIR | (entry.mode & 0o7777), size: 0, typeflag: TYPEFLAG.directory, linkname: undefined };
      break;
    case 'symlink':
      fields = { name: entry.path, mode: S_IFLNK | 0o777, size: 0, typeflag: TYPEFLAG.symlink, linkname: entry.target };
      break;
    case 'file':
      fields = { name: entry.path, mode: S_IFREG | (entry.mode & 0o7777), size, typeflag: TYPEFLAG.file, linkname: undefined };
      break;
  }
  if (encodeUstar(fields)) {
    emit(headerBlock);
    return;
  }
  let record = '';
  if (fields.name !== '') record += paxRecord(` path=${fields.name}\n`);
  if (fields.linkname) record += paxRecord(` linkpath=${fields.linkname}\n`);
  const paxData = Buffer.from(record, 'utf8');
  const linkname = fields.linkname ? 'PaxHeader' : undefined;
  encodeUstar({ name: 'PaxHeader', mode: fields.mode, size: paxData.byteLength, typeflag: TYPEFLAG.pax, linkname });
  emit(headerBlock);
  emit(paxData);
  const zeros = padding(paxData.byteLength);
  if (zeros.byteLength !== 0) emit(zeros);
  encodeUstar({ name: 'PaxHeader', mode: fields.mode, size: fields.size, typeflag: fields.typeflag, linkname });
  emit(headerBlock);
}

/** Fills `headerBlock` with a ustar header; false if the name or link does not fit (or is not ASCII). */
function encodeUstar(fields: HeaderFields): boolean {
  let name = fields.name;
  let prefix = '';
  if (Buffer.byteLength(name) !== name.length) return false;
  while (name.length > 100) {
    const slash = name.indexOf('/');
    if (slash === -1) return false;
    prefix += prefix ? `/${name.slice(0, slash)}` : name.slice(0, slash);
    name = name.slice(slash + 1);
  }
  if (prefix.length > 155) return false;
  if (fields.linkname && Buffer.byteLength(fields.linkname) > 100) return false;

  const block = headerBlock;
  block.fill(0);
  block.write(name, 0, 'latin1');
  block.write(octal(fields.mode & 0o7777, 6), 100, 'latin1');
  block.write(octal(0, 6), 108, 'latin1'); // uid
  block.write(octal(0, 6), 116, 'latin1'); // gid
  encodeSize(fields.size, block, 124);
  block.write(octal(MTIME_SECONDS, 11), 136, 'latin1');
  block[156] = 0x30 + fields.typeflag;
  if (fields.linkname) block.write(fields.linkname, 157, 'utf8');
  USTAR_MAGIC.copy(block, 257);
  block.write(octal(0, 6), 329, 'latin1'); // devmajor
  block.write(octal(0, 6), 337, 'latin1'); // devminor
  if (prefix) block.write(prefix, 345, 'latin1');
  block.write(octal(checksum(block), 6), 148, 'latin1');
  return true;
}

/** A numeric field: `digits` zero-padded octal digits and a space, all sevens if the value is too large. */
function octal(value: number, digits: number): string {
  const text = value.toString(8);
  if (text.length > digits) return `${SEVENS.slice(0, digits)} `;
  return `${ZEROS.slice(0, digits - text.length)}${text} `;
}

/** Writes the 12-byte size field at `offset`: octal, or base-256 when 11 octal digits do not suffice. */
function encodeSize(size: number, block: Buffer, offset: number): void {
  if (size.toString(8).length > 11) {
    // base-256 for sizes of 8 GiB and more
    block[offset] = 0x80;
    let rest = size;
    for (let i = 11; i > 0; i--) {
      block[offset + i] = rest & 0xff;
      rest = Math.floor(rest / 0x100);
    }
  } else {
    block.write(octal(size, 11), offset, 'latin1');
  }
}

/** The header checksum: the sum of the block's bytes, counting the checksum field itself as spaces. */
function checksum(block: Buffer): number {
  let sum = 8 * 32;
  for (let i = 0; i < 148; i++) sum += block[i] ?? 0;
  for (let i = 156; i < BLOCK; i++) sum += block[i] ?? 0;
  return sum;
}

/** A pax record: its decimal length (counting the digits themselves) then the text. */
function paxRecord(text: string): string {
  const length = Buffer.byteLength(text);
  let digits = Math.floor(Math.log(length) / Math.log(10)) + 1;
  if (length + digits >= Math.pow(10, digits)) digits++;
  return `${length + digits}${text}`;
}
