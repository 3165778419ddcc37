/** GET|HEAD /v2/<name>/blobs/<digest>: layers and configs streamed from storage, with ranges. */

import { Readable } from 'node:stream';
import type { Context } from 'hono';
import { RegistryError } from '../../shared/errors.ts';
import { contentKey } from '../../shared/keys.ts';
import { parseDigest } from '../../shared/digest.ts';
import { parseImageName } from '../../shared/reference.ts';
import type { Storage } from '../storage/storage.ts';
import { parseRange } from './range.ts';
import { CACHE_CONTROL } from '../../shared/http.ts';

/** Serves a blob by digest; 404 BLOB_UNKNOWN when storage has none. */
export async function serveBlob(c: Context, storage: Storage): Promise<Response> {
  parseImageName(c.req.param('name') ?? '');
  const digest = parseDigest(c.req.param('digest') ?? '');
  const key = contentKey(digest);
  const stat = await storage.stat(key);
  if (!stat) throw new RegistryError('BLOB_UNKNOWN', `No blob with digest ${digest}`);
  const etag = `"${digest}"`;
  const range = parseRange(c.req.header('range'), stat.size, { header: c.req.header('if-range'), etag });
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    'Accept-Ranges': 'bytes',
    ETag: etag,
    'Cache-Control': CACHE_CONTROL.immutable,
    'Content-Length': String(range ? range.end - range.start + 1 : stat.size),
  };
  if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${stat.size}`;
  const status = range ? 206 : 200;
  if (c.req.method === 'HEAD') return new Response(null, { status, headers });
  const stream = await storage.read(key, range);
  if (!stream) throw new RegistryError('BLOB_UNKNOWN', `No blob with digest ${digest}`);
  return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, { status, headers });
}
