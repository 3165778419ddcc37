/**
 * GcsStorage against the Firebase storage emulator (local-stack/gcs-emulator.ts): the shared
 * conformance suite and what only GCS has (chunked resumable uploads, retries after faults, the
 * JSON API media URL, a bucket laid out by Nixery). One emulator for the file; each storage gets
 * its own random key prefix.
 */

import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { startGcsEmulator, type GcsEmulator, type GcsEmulatorRequest } from '../../local-stack/gcs-emulator.ts';
import { runStorageConformance, runStorageFailureConformance } from './conformance.ts';
import { runBucketGcSuite } from '../gc/gc.cases.ts';
import { StorageError, withStorageErrors } from './storage-error.ts';
import { freePort } from '../../local-stack/wrangler-dev.ts';
import { createStorage } from './create-storage.ts';
import { GcsStorage, type GcsStorageOptions } from './gcs.ts';

const MiB = 1024 * 1024;
const BUCKET = 'nixedge-test';

let emulator: GcsEmulator | undefined;

before(async () => {
  emulator = await startGcsEmulator();
});

after(async () => {
  await emulator?.stop();
});

function gcs(): GcsEmulator {
  assert.ok(emulator, 'Expected the storage emulator to be running');
  return emulator;
}

/** A GcsStorage on the emulator's bucket under a fresh random prefix, with 1 MiB chunks. */
function makeGcsStorage(options: Partial<GcsStorageOptions> = {}): GcsStorage {
  return new GcsStorage({
    bucket: BUCKET,
    projectId: gcs().projectId,
    apiEndpoint: gcs().endpoint,
    prefix: `test/${randomUUID()}`,
    chunkSize: MiB,
    ...options,
  });
}

/** Deletes every object under the storage's prefix. */
async function removeAll(storage: GcsStorage): Promise<void> {
  await storage.bucket.deleteFiles({ prefix: `${storage.prefix ?? ''}/` });
}

/**
 * A stand-in for GCS refusing a service account (the emulator checks no credentials): every
 * request is answered 403 with GCS's JSON error body. Named as such; the rest is the real client.
 */
async function refusingGcs(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(403, { 'Content-Type': 'application/json' }).end(
      JSON.stringify({ error: { code: 403, message: 'nixedge@example.iam.gserviceaccount.com does not have storage.objects.create access', errors: [{ reason: 'forbidden' }] } }),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

runStorageFailureConformance('gcs', {
  denied: async () => {
    const refusing = await refusingGcs();
    return { storage: new GcsStorage({ bucket: 'b', apiEndpoint: refusing.endpoint, maxRetries: 0 }), cleanup: refusing.close };
  },
  // Nothing listens on the port a server just released.
  unavailable: async () => {
    const port = await freePort();
    return { storage: new GcsStorage({ bucket: 'b', apiEndpoint: `http://127.0.0.1:${port}`, maxRetries: 0 }), cleanup: async () => undefined };
  },
});

runBucketGcSuite('gcs (firebase emulator)', async () => {
  const storage = makeGcsStorage({ listPageSize: 10 });
  return { storage, cleanup: () => removeAll(storage) };
});

runStorageConformance('gcs (firebase emulator)', async () => {
  const storage = makeGcsStorage({ listPageSize: 10 }); // listings of more than one page
  return { storage, cleanup: () => removeAll(storage) };
});

/** Deterministic bytes, quick to make in bulk. */
function bytes(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, i);
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

/** The requests since `from` that concern the object `name` (its upload session included). */
function requestsFor(name: string, from: number): GcsEmulatorRequest[] {
  const encoded = encodeURIComponent(name);
  return gcs().requests.slice(from).filter((r) => r.url.includes(`name=${encoded}`) || r.url.includes(`/o/${encoded}`));
}

describe('GcsStorage on the Firebase storage emulator', () => {
  it('streams 20 MiB as a resumable upload of 256 KiB-multiple chunks, readable unchanged', async () => {
    const storage = makeGcsStorage({ chunkSize: 2 * MiB });
    try {
      const data = bytes(1, 20 * MiB + 3);
      const from = gcs().requests.length;
      assert.deepEqual(await storage.writeStream('layers/big', chunked(data)), { size: data.length });
      const requests = requestsFor(storage.objectName('layers/big'), from);
      const starts = requests.filter((r) => r.method === 'POST' && r.url.includes('uploadType=resumable'));
      const chunks = requests.filter((r) => r.method === 'PUT' && r.contentRange !== undefined);
      assert.equal(starts.length, 1, 'Expected one resumable upload session');
      assert.equal(chunks.length, 11, `Expected 10 chunks of 2 MiB and a last one, got ${chunks.map((r) => r.contentRange).join(', ')}`);
      assert.deepEqual(
        chunks.slice(0, 10).map((r) => [r.contentRange, r.status]),
        Array.from({ length: 10 }, (_, i) => [`bytes ${i * 2 * MiB}-${(i + 1) * 2 * MiB - 1}/*`, 308]),
      );
      assert.deepEqual([chunks[10]?.contentRange, chunks[10]?.status], [`bytes ${20 * MiB}-${20 * MiB + 2}/${data.length}`, 200]);
      const [metadata] = await storage.bucket.file(storage.objectName('layers/big')).getMetadata();
      assert.equal(metadata.contentType, 'application/octet-stream');
      assert.equal(metadata.contentEncoding, undefined);
      assert.equal(Number(metadata.size), data.length);
      const read = await storage.readBytes('layers/big');
      assert.ok(read && sha256(read) === sha256(data), 'Expected the uploaded object to read back unchanged');
    } finally {
      await removeAll(storage);
    }
  });

  it('retries a failed chunk and the session start, resuming from the offset the server has', async () => {
    const storage = makeGcsStorage();
    try {
      const name = storage.objectName('layers/retried');
      const data = bytes(2, 4 * MiB + 100);
      const from = gcs().requests.length;
      gcs().failNext(1, (r) => r.method === 'POST' && r.url.includes(`name=${encodeURIComponent(name)}`));
      gcs().failNext(1, (r) => r.method === 'PUT' && r.contentRange === `bytes ${2 * MiB}-${3 * MiB - 1}/*`);
      assert.deepEqual(await storage.writeStream('layers/retried', chunked(data)), { size: data.length });
      const statuses = requestsFor(name, from).map((r) => `${r.method} ${r.contentRange ?? ''} ${r.status}`);
      assert.equal(statuses.filter((s) => s.endsWith(' 503')).length, 2, `Expected two injected faults, got ${statuses.join('; ')}`);
      assert.ok(statuses.includes('PUT bytes */* 308'), `Expected a status query after the failed chunk, got ${statuses.join('; ')}`);
      const read = await storage.readBytes('layers/retried');
      assert.ok(read && read.equals(data), 'Expected the retried upload to read back unchanged');
    } finally {
      await removeAll(storage);
    }
  });

  it('gives up after maxRetries and leaves nothing at the key', async () => {
    const storage = makeGcsStorage({ maxRetries: 1 });
    try {
      const name = storage.objectName('layers/given-up');
      const from = gcs().requests.length;
      gcs().failNext(2, (r) => r.method === 'PUT' && r.url.includes(`name=${encodeURIComponent(name)}`) && r.contentRange?.startsWith('bytes 1048576-') === true);
      await assert.rejects(storage.writeStream('layers/given-up', chunked(bytes(3, 3 * MiB))), /Failed to write gs:\/\/nixedge-test\/.*layers\/given-up/);
      assert.equal(await storage.stat('layers/given-up'), undefined);
      const failed = requestsFor(name, from).filter((r) => r.status === 503);
      assert.equal(failed.length, 2, 'Expected the first attempt and one retry');
      // Faults on reads are retried too.
      await storage.writeBytes('layers/read-retried', Buffer.from('retried read'));
      gcs().failNext(1, (r) => r.method === 'GET' && r.url.includes(encodeURIComponent(storage.objectName('layers/read-retried'))));
      assert.equal((await storage.readBytes('layers/read-retried'))?.toString(), 'retried read');
    } finally {
      await removeAll(storage);
    }
  });

  it('an object written by us is served by the JSON API media URL with identical bytes', async () => {
    const storage = makeGcsStorage();
    try {
      const data = bytes(4, 3 * MiB + 7);
      await storage.writeStream('layers/public', chunked(data));
      await storage.writeBytes('cache/images/small', Buffer.from('{"a":1}'));
      const object = encodeURIComponent(storage.objectName('layers/public'));
      const media = `${gcs().endpoint}/download/storage/v1/b/${BUCKET}/o/${object}?alt=media`;
      const response = await fetch(media);
      assert.equal(response.status, 200);
      assert.ok(!response.headers.get('content-encoding'), 'Expected no Content-Encoding');
      assert.equal(response.headers.get('content-type'), 'application/octet-stream');
      const served = Buffer.from(await response.arrayBuffer());
      assert.equal(served.length, data.length);
      assert.equal(sha256(served), sha256(data));
      const ranged = await fetch(media, { headers: { Range: 'bytes=1048570-1048589' } });
      assert.equal(ranged.status, 206);
      assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(1048570, 1048590)));
      const json = (await (await fetch(`${gcs().endpoint}/storage/v1/b/${BUCKET}/o/${encodeURIComponent(storage.objectName('cache/images/small'))}`)).json()) as Record<string, unknown>;
      assert.equal(json.size, '7');
      assert.equal(json.contentType, 'application/octet-stream');
      assert.equal(json.contentEncoding, undefined);
    } finally {
      await removeAll(storage);
    }
  });

  it("reads a bucket laid out like Nixery's (layers/<sha256>, no prefix) as-is", async () => {
    const bucket = `nixery-${randomUUID().slice(0, 8)}`;
    const storage = new GcsStorage({ bucket, apiEndpoint: gcs().endpoint, projectId: gcs().projectId });
    const layer = bytes(5, 2 * MiB + 11);
    const manifest = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}');
    // Written the way Nixery writes them: straight through the client, at the bucket's root.
    for (const data of [layer, manifest]) {
      await storage.client.bucket(bucket).file(`layers/${sha256(data)}`).save(data, { resumable: false });
    }
    try {
      for (const data of [layer, manifest]) {
        const key = `layers/${sha256(data)}`;
        assert.equal(storage.objectName(key), key);
        assert.deepEqual(await storage.stat(key), { size: data.length });
        const read = await storage.readBytes(key);
        assert.ok(read && sha256(read) === sha256(data), `Expected ${key} to read back with its own digest`);
      }
      const stream = await storage.read(`layers/${sha256(layer)}`, { start: MiB, end: MiB + 99 });
      assert.ok(stream);
      const slice: Buffer[] = [];
      for await (const chunk of stream) slice.push(chunk as Buffer);
      assert.ok(Buffer.concat(slice).equals(layer.subarray(MiB, MiB + 100)));
    } finally {
      await storage.bucket.deleteFiles();
    }
  });

  it('prepends the prefix to every key, validates keys before any request, and checks its options', async () => {
    const storage = makeGcsStorage({ prefix: 'nixery/store' });
    try {
      assert.equal(storage.objectName('layers/abc'), 'nixery/store/layers/abc');
      await storage.writeBytes('layers/abc', Buffer.from('prefixed'));
      const response = await fetch(`${gcs().endpoint}/download/storage/v1/b/${BUCKET}/o/${encodeURIComponent('nixery/store/layers/abc')}?alt=media`);
      assert.equal(await response.text(), 'prefixed');
      await storage.delete('layers/abc');
      const from = gcs().requests.length;
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
      await assert.rejects(storage.stat('x'.repeat(1020)), /at most 1024 bytes/); // with the prefix
      assert.equal(gcs().requests.length, from, 'Expected no request for an invalid key');
      assert.throws(() => makeGcsStorage({ prefix: '/abs' }), /relative/);
      assert.throws(() => makeGcsStorage({ chunkSize: 1000 * 1000 }), /multiple of 256 KiB/);
      assert.throws(() => makeGcsStorage({ bucket: '' }), /bucket/);
      assert.equal(new GcsStorage({ bucket: 'b', apiEndpoint: gcs().endpoint }).chunkSize, 16 * MiB);
    } finally {
      await removeAll(storage);
    }
  });

  it('move of a missing source rejects naming it; move onto itself keeps the object', async () => {
    const storage = makeGcsStorage();
    try {
      await assert.rejects(storage.move('staging/nothing', 'layers/x'), /Expected an object at "staging\/nothing" to move to "layers\/x", got none/);
      await storage.writeBytes('layers/self', Buffer.from('same'));
      await storage.move('layers/self', 'layers/self');
      assert.equal((await storage.readBytes('layers/self'))?.toString(), 'same');
    } finally {
      await removeAll(storage);
    }
  });

  it('createStorage builds it from the configuration (GCS_BUCKET, GCS_ENDPOINT)', async () => {
    const storage = await createStorage({
      backend: 'gcs',
      bucket: `config-${randomUUID().slice(0, 8)}`,
      projectId: gcs().projectId,
      keyFilename: undefined,
      endpoint: gcs().endpoint,
      idleTimeoutMs: 30_000,
    });
    assert.equal(storage.name, 'gcs');
    await storage.writeBytes('layers/configured', Buffer.from('configured'));
    assert.equal((await storage.readBytes('layers/configured'))?.toString(), 'configured');
    await storage.delete('layers/configured');
  });
});

describe('GcsStorage reads, against a server answering wrongly', () => {
  /** Serves every GET with `answer`, records the requests, on a free port for the test. */
  async function withServer(
    answer: (req: IncomingMessage, res: ServerResponse) => void,
    body: (storage: GcsStorage, requests: IncomingMessage[]) => Promise<void>,
    options: Partial<GcsStorageOptions> = {},
  ): Promise<void> {
    const requests: IncomingMessage[] = [];
    const server = createServer((req, res) => {
      requests.push(req);
      answer(req, res);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      await body(new GcsStorage({ bucket: 'b', apiEndpoint: `http://127.0.0.1:${port}`, maxRetries: 1, ...options }), requests);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }

  it('a whole object whose bytes do not match its x-goog-hash crc32c fails the read', async () => {
    await withServer(
      (_req, res) => res.writeHead(200, { 'x-goog-hash': 'crc32c=AAAAAA==,md5=x' }).end('corrupted bytes'),
      async (storage) => {
        await assert.rejects(storage.readBytes('layers/x'), (error: Error) => /crc32c AAAAAA==/.test(String(error.cause)));
      },
    );
  });

  it('a range answered with the whole object, or an object with a Content-Encoding, is an error', async () => {
    await withServer(
      (req, res) => res.writeHead(200, req.headers.range ? {} : { 'content-encoding': 'gzip' }).end('whole object'),
      async (storage, requests) => {
        await assert.rejects(storage.read('layers/x', { start: 0, end: 3 }), /Failed to read gs:\/\/b\/layers\/x bytes 0-3/);
        await assert.rejects(storage.read('layers/x'), /without a Content-Encoding, got gzip/);
        assert.equal(requests.length, 2, 'Expected no retries for answers retrying cannot fix');
      },
    );
  });

  it('5xx answers are retried maxRetries times, 403 is not', async () => {
    let status = 503;
    await withServer(
      (_req, res) => res.writeHead(status).end('nope'),
      async (storage, requests) => {
        const reads = () => requests.filter((r) => r.url?.includes('alt=media')).length;
        const before = reads();
        await assert.rejects(storage.readBytes('layers/x'), /Failed to read gs:\/\/b\/layers\/x after 2 attempts/);
        assert.equal(reads() - before, 2);
        status = 403;
        await assert.rejects(storage.readBytes('layers/x'), (error: Error) => /HTTP 403/.test(String(error.cause)));
        assert.equal(reads() - before, 3);
      },
    );
  });

  it('a store that stops answering, before or during a download, fails the read as "unavailable" within the idle timeout', async () => {
    const idleTimeoutMs = 300;
    // Never answers.
    await withServer(
      () => undefined,
      async (backend) => {
        const started = Date.now();
        await assert.rejects(withStorageErrors(backend).readBytes('layers/x'), (error: unknown) => error instanceof StorageError && error.kind === 'unavailable');
        assert.ok(Date.now() - started < 5_000, `gave up after ${Date.now() - started} ms`);
      },
      { idleTimeoutMs, maxRetries: 0 },
    );
    // Answers, sends some bytes, then stalls.
    await withServer(
      (_req, res) => {
        res.writeHead(200, { 'content-length': '1000' });
        res.write(Buffer.alloc(100));
      },
      async (backend) => {
        const started = Date.now();
        await assert.rejects(withStorageErrors(backend).readBytes('layers/x'), (error: unknown) => error instanceof StorageError && error.kind === 'unavailable');
        assert.ok(Date.now() - started < 5_000, `gave up after ${Date.now() - started} ms`);
      },
      { idleTimeoutMs, maxRetries: 0 },
    );
  });
});
