/**
 * S3Storage against wrangler's local R2 (test/support/r2-only): the shared conformance suite and
 * what only S3 has (multipart, aborts, SigV4, the public URL). One wrangler dev for the file; each
 * storage gets its own random key prefix, since the bucket is shared.
 */

import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import {
  HeadObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

import { freePort, localR2S3, startWranglerDev, type LocalR2S3, type WranglerDev } from '../../local-stack/wrangler-dev.ts';
import { R2_ONLY } from '../../test/support/r2-only.ts';
import { runStorageConformance, runStorageFailureConformance } from './conformance.ts';
import { runBucketGcSuite } from '../gc/gc.cases.ts';
import { StorageError, withStorageErrors } from './storage-error.ts';
import { S3Storage, type S3StorageOptions } from './s3.ts';

const MiB = 1024 * 1024;

let dev: WranglerDev | undefined;
let persistTo = '';
let r2: LocalR2S3 | undefined;

before(async () => {
  persistTo = await mkdtemp(join(tmpdir(), 'nixedge-s3-storage-'));
  dev = await startWranglerDev({ config: R2_ONLY.config, persistTo });
  r2 = localR2S3(dev, R2_ONLY);
});

after(async () => {
  await dev?.stop();
  if (persistTo) await rm(persistTo, { recursive: true, force: true });
});

function local(): LocalR2S3 {
  assert.ok(r2, 'Expected wrangler dev to be running');
  return r2;
}

/** An S3Storage on the local bucket under a fresh random prefix. */
function makeS3Storage(options: Partial<S3StorageOptions> = {}): S3Storage {
  const { endpoint, bucket, region, accessKeyId, secretAccessKey } = local();
  return new S3Storage({
    endpoint,
    bucket,
    region,
    accessKeyId,
    secretAccessKey,
    forcePathStyle: true,
    partSize: 5 * MiB,
    prefix: `test/${randomUUID()}`,
    ...options,
  });
}

runStorageConformance('s3 (wrangler local R2)', async () => {
  const storage = makeS3Storage({ listPageSize: 10 }); // listings of more than one page
  // The persist directory (the whole bucket) is removed in `after`.
  return { storage, cleanup: async () => storage.destroy() };
});

runBucketGcSuite('s3 (wrangler local R2)', async () => {
  const storage = makeS3Storage({ listPageSize: 10 });
  return { storage, cleanup: async () => storage.destroy() };
});

runStorageFailureConformance('s3 (wrangler local R2)', {
  // Local R2 verifies SigV4 as R2 does: a wrong secret is refused (403 SignatureDoesNotMatch).
  denied: async () => {
    const storage = makeS3Storage({ secretAccessKey: 'not-the-secret', maxAttempts: 1 });
    return { storage, cleanup: async () => storage.destroy() };
  },
  notFound: async () => {
    const storage = makeS3Storage({ bucket: 'no-such-bucket', maxAttempts: 1 });
    return { storage, cleanup: async () => storage.destroy() };
  },
  // Nothing listens on the port a server just released.
  unavailable: async () => {
    const port = await freePort();
    const storage = makeS3Storage({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 });
    return { storage, cleanup: async () => storage.destroy() };
  },
});

/** Deterministic bytes, quick to make in bulk. */
function bytes(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, i < length - 3 ? i : length - 4);
  }
  return out;
}

/** A byte stream of `data` in 64 KiB chunks. */
function chunked(data: Buffer, chunk = 64 * 1024): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    for (let offset = 0; offset < data.length; offset += chunk) yield data.subarray(offset, offset + chunk);
  }
  return Readable.from(gen(), { objectMode: false });
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Counts the commands sent by `client`, by name (e.g. "UploadPartCommand"), and records outputs. */
function recordCommands(client: S3Client): { count(name: string): number; outputs(name: string): unknown[] } {
  const outputs = new Map<string, unknown[]>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const name = context.commandName ?? '?';
      outputs.set(name, [...(outputs.get(name) ?? []), result.output]);
      return result;
    },
    { step: 'initialize', name: 'nixedgeTestRecorder' },
  );
  return {
    count: (name) => outputs.get(name)?.length ?? 0,
    outputs: (name) => outputs.get(name) ?? [],
  };
}

describe('S3Storage on wrangler local R2', () => {
  it('a 20 MiB streamed upload with 5 MiB parts goes multipart (4 UploadParts, ETag "...-4")', async () => {
    const storage = makeS3Storage({ partSize: 5 * MiB, queueSize: 2 });
    const recorder = recordCommands(storage.client);
    try {
      const data = bytes(1, 20 * MiB);
      assert.deepEqual(await storage.writeStream('layers/multipart', chunked(data)), { size: data.length });
      assert.equal(recorder.count('CreateMultipartUploadCommand'), 1);
      assert.equal(recorder.count('UploadPartCommand'), 4);
      assert.equal(recorder.count('CompleteMultipartUploadCommand'), 1);
      assert.equal(recorder.count('PutObjectCommand'), 0);
      const head = await storage.client.send(
        new HeadObjectCommand({ Bucket: storage.bucket, Key: storage.objectKey('layers/multipart') }),
      );
      assert.match(head.ETag ?? '', /^"[0-9a-f]+-4"$/, `Expected a multipart ETag, got ${head.ETag}`);
      assert.equal(head.ContentType, 'application/octet-stream');
      assert.equal(head.ContentEncoding, undefined);
      const read = await storage.readBytes('layers/multipart');
      assert.ok(read && sha256(read) === sha256(data), 'Expected the multipart object to read back unchanged');
    } finally {
      storage.destroy();
    }
  });

  it('a small streamed body is one PutObject, stored as application/octet-stream without Content-Encoding', async () => {
    const storage = makeS3Storage();
    const recorder = recordCommands(storage.client);
    try {
      await storage.writeStream('layers/small', chunked(bytes(2, 100_000)));
      await storage.writeBytes('manifests/small', Buffer.from('{}'));
      assert.equal(recorder.count('PutObjectCommand'), 2);
      assert.equal(recorder.count('CreateMultipartUploadCommand'), 0);
      for (const key of ['layers/small', 'manifests/small']) {
        const head = await storage.client.send(new HeadObjectCommand({ Bucket: storage.bucket, Key: storage.objectKey(key) }));
        assert.equal(head.ContentType, 'application/octet-stream');
        assert.equal(head.ContentEncoding, undefined);
      }
    } finally {
      storage.destroy();
    }
  });

  it('a failing source aborts the multipart upload: nothing pending, nothing at the key', async () => {
    const storage = makeS3Storage({ partSize: 5 * MiB, queueSize: 2 });
    const recorder = recordCommands(storage.client);
    try {
      const boom = new Error('source failed after 12 MiB');
      const data = bytes(3, 12 * MiB);
      async function* failing(): AsyncGenerator<Buffer> {
        yield* chunked(data);
        throw boom;
      }
      await assert.rejects(storage.writeStream('layers/aborted', Readable.from(failing(), { objectMode: false })), (error) => {
        for (let e: unknown = error; e !== undefined; e = e instanceof Error ? e.cause : undefined) if (e === boom) return true;
        return false;
      });
      assert.equal(recorder.count('CreateMultipartUploadCommand'), 1, 'Expected the upload to have gone multipart');
      assert.ok(recorder.count('UploadPartCommand') >= 1, 'Expected parts to have been uploaded before the failure');
      assert.equal(recorder.count('AbortMultipartUploadCommand'), 1, 'Expected the multipart upload to be aborted');
      assert.equal(recorder.count('CompleteMultipartUploadCommand'), 0);
      assert.equal(await storage.stat('layers/aborted'), undefined);

      // The upload is gone: a late part for it is refused (local R2 has no ListMultipartUploads).
      const created = recorder.outputs('CreateMultipartUploadCommand')[0] as { UploadId?: string } | undefined;
      assert.ok(created?.UploadId, 'Expected the UploadId of the aborted upload');
      await assert.rejects(
        storage.client.send(
          new UploadPartCommand({
            Bucket: storage.bucket,
            Key: storage.objectKey('layers/aborted'),
            UploadId: created.UploadId,
            PartNumber: 9,
            Body: Buffer.from('late part'),
          }),
        ),
        { name: 'NoSuchUpload' },
      );
    } finally {
      storage.destroy();
    }
  });

  it('move copies with UploadPartCopy parts when the source is larger than CopyObject allows', async () => {
    // The threshold is 5 GiB in production; lowered here so a 12 MiB object takes that path.
    const storage = makeS3Storage({ maxCopyObjectSize: MiB, copyPartSize: 5 * MiB, queueSize: 2 });
    const recorder = recordCommands(storage.client);
    try {
      const data = bytes(4, 12 * MiB + 3);
      await storage.writeStream('staging/huge', chunked(data));
      await storage.move('staging/huge', 'layers/huge');
      assert.equal(recorder.count('UploadPartCopyCommand'), 3);
      assert.equal(recorder.count('CopyObjectCommand'), 0);
      assert.equal(await storage.stat('staging/huge'), undefined);
      const moved = await storage.readBytes('layers/huge');
      assert.ok(moved && moved.length === data.length && sha256(moved) === sha256(data), 'Expected the copied parts to join into the source bytes');
      const head = await storage.client.send(new HeadObjectCommand({ Bucket: storage.bucket, Key: storage.objectKey('layers/huge') }));
      assert.equal(head.ContentType, 'application/octet-stream');
      await assert.rejects(storage.move('staging/huge', 'layers/huge2'), /Expected an object at "staging\/huge" to move to "layers\/huge2", got none/);
    } finally {
      storage.destroy();
    }
  });

  it('refuses wrong credentials (SigV4 is verified) instead of reporting objects missing', async () => {
    const good = makeS3Storage();
    await good.writeBytes('layers/secret', Buffer.from('x'));
    const wrongSecret = makeS3Storage({ prefix: good.prefix, secretAccessKey: 'not-the-secret', maxAttempts: 1 });
    const wrongKeyId = makeS3Storage({ prefix: good.prefix, accessKeyId: 'not-the-key-id', maxAttempts: 1 });
    try {
      for (const backend of [wrongSecret, wrongKeyId]) {
        const storage = withStorageErrors(backend);
        const denied = (operation: string) => (error: unknown): boolean => {
          assert.ok(error instanceof StorageError, `${operation}: ${String(error)}`);
          assert.equal(error.kind, 'denied', `${operation}: ${error.message}`);
          return true;
        };
        await assert.rejects(storage.stat('layers/secret'), denied('stat'));
        await assert.rejects(storage.readBytes('layers/secret'), denied('readBytes'));
        await assert.rejects(storage.writeBytes('layers/secret', Buffer.from('overwritten')), denied('writeBytes'));
        await assert.rejects(storage.writeStream('layers/other', chunked(bytes(5, 1000))), denied('writeStream'));
        await assert.rejects(storage.delete('layers/secret'), denied('delete'));
      }
      assert.equal((await good.readBytes('layers/secret'))?.toString(), 'x', 'nothing was overwritten');
      const unsigned = await fetch(`${local().endpoint}/${local().bucket}/${good.objectKey('layers/secret')}`);
      // R2's answer to a request without a signature: 400 InvalidArgument "Authorization".
      assert.equal(unsigned.status, 400, 'an unsigned request is refused');
      assert.match(await unsigned.text(), /<Code>InvalidArgument<\/Code><Message>Authorization<\/Message>/);
    } finally {
      good.destroy();
      wrongSecret.destroy();
      wrongKeyId.destroy();
    }
  });

  it('an object written through S3 is served at the public URL with identical bytes', async () => {
    const storage = makeS3Storage();
    try {
      const data = bytes(6, 6 * MiB + 7); // multipart with partSize 5 MiB
      await storage.writeStream('layers/public', chunked(data));
      const url = local().publicUrl(storage.objectKey('layers/public'));
      const response = await fetch(url);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-encoding'), null);
      const served = Buffer.from(await response.arrayBuffer());
      assert.equal(served.length, data.length);
      assert.equal(sha256(served), sha256(data));
      const ranged = await fetch(url, { headers: { Range: 'bytes=5242870-5242889' } });
      assert.equal(ranged.status, 206);
      assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(5242870, 5242890)));
    } finally {
      storage.destroy();
    }
  });

  it('prepends the prefix to every key, and validates keys before any request', async () => {
    const storage = makeS3Storage({ prefix: 'nixery/store' });
    try {
      assert.equal(storage.objectKey('layers/abc'), 'nixery/store/layers/abc');
      await storage.writeBytes('layers/abc', Buffer.from('prefixed'));
      const response = await fetch(local().publicUrl('nixery/store/layers/abc'));
      assert.equal(await response.text(), 'prefixed');
      await storage.delete('layers/abc');
      for (const key of ['../x', '/abs', 'a//b', 'a/./b', '', 'a\\b', 'x'.repeat(1025)]) {
        await assert.rejects(storage.stat(key), /storage key/);
        await assert.rejects(storage.read(key), /storage key/);
        await assert.rejects(storage.readBytes(key), /storage key/);
        await assert.rejects(storage.writeBytes(key, Buffer.from('x')), /storage key/);
        await assert.rejects(storage.writeStream(key, Readable.from([Buffer.from('x')])), /storage key/);
        await assert.rejects(storage.move(key, 'layers/ok'), /storage key/);
        await assert.rejects(storage.move('layers/ok', key), /storage key/);
        await assert.rejects(storage.delete(key), /storage key/);
      }
      // With the prefix, a 1024-byte key is too long for S3.
      await assert.rejects(storage.stat('x'.repeat(1020)), /at most 1024 bytes/);
      assert.throws(() => makeS3Storage({ prefix: '/abs' }), /relative/);
      assert.throws(() => makeS3Storage({ partSize: MiB }), /partSize/);
    } finally {
      storage.destroy();
    }
  });

  it('a missing bucket is an error for GETs, not a missing object', async () => {
    // (HEAD answers a bare 404 either way, so stat cannot tell a missing bucket from a missing key.)
    const backend = makeS3Storage({ bucket: 'no-such-bucket', maxAttempts: 1 });
    const storage = withStorageErrors(backend);
    const notFound = (error: unknown): boolean => error instanceof StorageError && error.kind === 'not-found' && /Failed to read/.test(error.message);
    try {
      await assert.rejects(storage.readBytes('layers/x'), notFound);
      await assert.rejects(storage.read('layers/x'), notFound);
    } finally {
      const storage = backend;
      storage.destroy();
    }
  });
});
