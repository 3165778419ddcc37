import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryError } from '../../shared/errors.ts';
import { parseRange } from './range.ts';

const SIZE = 100;

test('parseRange: satisfiable ranges, inclusive ends', () => {
  const cases: [header: string, size: number, expected: { start: number; end: number }][] = [
    ['bytes=0-9', SIZE, { start: 0, end: 9 }],
    ['bytes=5-', SIZE, { start: 5, end: 99 }],
    ['bytes=-3', SIZE, { start: 97, end: 99 }],
    ['bytes=-500', SIZE, { start: 0, end: 99 }], // suffix longer than the blob: all of it
    ['bytes=90-1000', SIZE, { start: 90, end: 99 }], // end beyond size clamps
    ['bytes=99-99', SIZE, { start: 99, end: 99 }],
    ['bytes=0-0', 1, { start: 0, end: 0 }],
    [' bytes=1-2 ', SIZE, { start: 1, end: 2 }],
  ];
  for (const [header, size, expected] of cases) {
    assert.deepEqual(parseRange(header, size), expected, header);
  }
});

test('parseRange: the whole object for no header and for forms it ignores', () => {
  const cases: (string | undefined)[] = [
    undefined,
    '',
    'bytes=',
    'bytes=-',
    'garbage',
    'items=0-9',
    'bytes=a-b',
    'bytes=0-9,20-29', // several ranges: served whole, as RFC 9110 allows
    'bytes=9-0', // last < first: syntactically invalid, ignored
  ];
  for (const header of cases) {
    assert.equal(parseRange(header, SIZE), undefined, String(header));
  }
});

test('parseRange: unsatisfiable ranges are 416 RANGE_INVALID with Content-Range bytes */size', () => {
  const cases: [header: string, size: number][] = [
    ['bytes=100-', SIZE], // start at the size
    ['bytes=150-200', SIZE], // start beyond the size
    ['bytes=-0', SIZE], // an empty suffix
    ['bytes=0-9', 0], // any range of an empty object
    ['bytes=-3', 0],
  ];
  for (const [header, size] of cases) {
    assert.throws(
      () => parseRange(header, size),
      (error: unknown) => {
        assert.ok(error instanceof RegistryError, header);
        assert.equal(error.code, 'RANGE_INVALID', header);
        assert.equal(error.status, 416);
        assert.deepEqual(error.headers, { 'Content-Range': `bytes */${size}` }, header);
        return true;
      },
      header,
    );
  }
});

test('If-Range: the range only when the validator is the blob\'s ETag exactly, else the whole blob (RFC 9110)', () => {
  const etag = `"sha256:${'a'.repeat(64)}"`;
  assert.deepEqual(parseRange('bytes=0-9', SIZE, { header: etag, etag }), { start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=0-9', SIZE, { header: undefined, etag }), { start: 0, end: 9 }, 'no If-Range: the range');
  for (const other of [`"sha256:${'b'.repeat(64)}"`, `W/${etag}`, 'Wed, 21 Oct 2015 07:28:00 GMT', '']) {
    assert.equal(parseRange('bytes=0-9', SIZE, { header: other, etag }), undefined, `If-Range: ${other}`);
  }
});
