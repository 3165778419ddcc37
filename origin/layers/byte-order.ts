/**
 * Byte order of strings: the order of their UTF-8 encodings (= code point order), which is what
 * `sort` on a byte string gives in Go or C. JavaScript's `<` compares UTF-16 code units, which
 * differs for characters above U+FFFF; store paths are ASCII, but the order must not depend on it.
 */

/** Compares two strings by the bytes of their UTF-8 encodings: negative, zero or positive. */
export function compareByteOrder(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Maps a UTF-16 code unit so that surrogates (code points >= U+10000) sort after U+E000..U+FFFF. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}
