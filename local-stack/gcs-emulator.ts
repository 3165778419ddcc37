/**
 * The Firebase storage emulator (npm `firebase-tools`, pinned) serving the Google Cloud Storage
 * JSON API to `@google-cloud/storage` (`apiEndpoint: endpoint`), started inside this Node process:
 * no Java, no download, no network, a fresh temporary directory for its bytes.
 *
 *   const gcs = await startGcsEmulator();
 *   try { new Storage({ apiEndpoint: gcs.endpoint, projectId: gcs.projectId }) ... } finally { await gcs.stop(); }
 *
 * How: `StorageEmulator.start()` would start the security-rules runtime (a Java jar it downloads),
 * which only the Firebase API (`/v0`) needs. The GCS JSON API (`/storage/v1`, `/upload/storage/v1`,
 * `/download/storage/v1`) goes through the emulator's admin storage layer, which checks no rules.
 * So this builds the emulator's express app itself (`createApp`, what `start()` does after the
 * rules runtime) and serves it from a plain `http.Server` on a free 127.0.0.1 port.
 *
 * What the emulator supports, as seen from @google-cloud/storage:
 * - objects: media/multipart uploads, metadata GET/PATCH, DELETE, downloads with `Range` (206)
 *   and `x-goog-hash` (crc32c, md5), copyTo/rewriteTo (one call, `done: true`), list;
 *   buckets are created on first use; credentials are not checked.
 * - resumable uploads: only as ONE request. The emulator finalizes the upload on the first PUT
 *   whatever its `Content-Range`, so a chunked upload (`chunkSize`) fails at its second chunk.
 *   This module adds the missing part of the protocol in front of the emulator (see
 *   `resumableChunk`): a PUT of a chunk `bytes a-b/*` is appended and answered 308 with `Range`,
 *   a status query `bytes * /*` is answered from the bytes received, and the final chunk
 *   `bytes a-b/total` finalizes the upload through the emulator's own storage layer.
 * - copy: the emulator serves copyTo/rewriteTo only at `/b/...`, not at `/storage/v1/b/...` where
 *   the client sends them (501); this module strips the prefix. Everything else is the
 *   emulator's own code.
 * - not enforced: preconditions (`ifGenerationMatch`), `X-Goog-Hash` on uploads (the client still
 *   checks the crc32c/md5 the emulator returns), request bodies over 130 MB in one request.
 * - one emulator per process at a time: its URLs come from firebase-tools' global registry.
 * - path-style XML API reads, `GET /<bucket>/<object>` (what a V4 signed URL targets), are the
 *   emulator's own route (`/:bucketId/:objectId(**)`, with `Range`), but it ignores any
 *   signature. With `signedUrls` this module checks them as GCS does before the emulator
 *   answers (see `signedUrlRefusal`): a GOOG4-RSA-SHA256 query signature by that account's key,
 *   verified with its public key over the canonical request rebuilt from the request (method,
 *   path, query, Host), not expired; otherwise 403 (400 when expired) with GCS's XML error.
 *
 * Faults for tests: `failNext(count, match)` answers the next `count` matching requests with 503
 * (after reading their bodies), so retries can be observed; `requests` records every request.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, verify, type KeyObject } from 'node:crypto';

const require = createRequire(import.meta.url);

export interface GcsEmulatorRequest {
  method: string;
  /** The path and query, e.g. `/upload/storage/v1/b/bucket/o?uploadType=resumable&upload_id=...`. */
  url: string;
  contentRange: string | undefined;
  /** The status answered (undefined while in flight). */
  status?: number;
}

export interface GcsEmulator {
  /** `http://127.0.0.1:<port>`: the `apiEndpoint` of @google-cloud/storage. */
  endpoint: string;
  projectId: string;
  /** Every request received so far, in order. */
  readonly requests: readonly GcsEmulatorRequest[];
  /** Answers the next `count` requests matching `match` (all when omitted) with 503. */
  failNext(count: number, match?: (request: GcsEmulatorRequest) => boolean): void;
  /** Closes the server and its connections and removes the emulator's files. Idempotent. */
  stop(): Promise<void>;
}

/** The service account whose V4 signed URLs our check in front of the emulator accepts. */
export interface SignedUrlAccount {
  /** Its public key (RSA): signatures are RSASSA-PKCS1-v1_5 / SHA-256. */
  publicKey: KeyObject;
  /** Its `client_email`, the first part of X-Goog-Credential. */
  serviceAccountEmail: string;
}

export interface GcsEmulatorOptions {
  projectId?: string;
  /**
   * Require path-style object reads (`GET /<bucket>/<object>`, the V4 signed URL form) to carry a
   * valid GOOG4-RSA-SHA256 query signature by this service account, as a private bucket does.
   * Unset = the emulator's own behaviour: such reads are served without any check.
   */
  signedUrls?: SignedUrlAccount;
}

// The parts of firebase-tools (untyped CommonJS) used here.
interface EmulatorUpload {
  id: string;
  size: number;
  status: string;
}
interface EmulatorInstance {
  args: { port: number; host: string };
  readonly uploadService: {
    getResumableUpload(id: string): EmulatorUpload;
    continueResumableUpload(id: string, data: Buffer): EmulatorUpload;
    finalizeResumableUpload(id: string): EmulatorUpload;
  };
  readonly adminStorageLayer: { uploadObject(upload: EmulatorUpload): Promise<unknown> };
  readonly rulesManager: { stop(): Promise<void> };
  getName(): string;
}
type StorageEmulatorClass = new (args: Record<string, unknown>) => EmulatorInstance;
interface Registry {
  get(name: string): unknown;
  set(name: string, instance: unknown): void;
  clear(name: string): void;
}

const FIREBASE_STORAGE = 'firebase-tools/lib/emulator/storage';
const { StorageEmulator } = require(`${FIREBASE_STORAGE}/index.js`) as { StorageEmulator: StorageEmulatorClass };
const { createApp } = require(`${FIREBASE_STORAGE}/server.js`) as {
  createApp(projectId: string, emulator: EmulatorInstance): Promise<RequestListener>;
};
const { CloudStorageObjectMetadata } = require(`${FIREBASE_STORAGE}/metadata.js`) as {
  CloudStorageObjectMetadata: new (metadata: unknown) => object;
};
const { EmulatorRegistry } = require('firebase-tools/lib/emulator/registry.js') as { EmulatorRegistry: Registry };

/** A copy or rewrite request as @google-cloud/storage sends it. */
const REWRITE_WITH_PREFIX = /^\/storage\/v1\/b\/[^/]+\/o\/[^/]+\/(rewriteTo|copyTo)\/b\//;

/** First path segments of the emulator's other APIs: anything else (bucket names have 3+ characters) is `/<bucket>/<object>`. */
const NOT_A_BUCKET = new Set(['storage', 'upload', 'download', 'b', 'v0', 'batch']);

/** Whether a request is a path-style XML API object request, `/<bucket>/<object>`. */
function isPathStyleObject(url: URL): boolean {
  const [, bucket, ...object] = url.pathname.split('/');
  return bucket !== undefined && bucket !== '' && !NOT_A_BUCKET.has(bucket) && object.join('/') !== '';
}

/** `YYYYMMDDTHHMMSSZ` (X-Goog-Date) as epoch milliseconds; NaN when malformed. */
function goog4Time(value: string): number {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return Number.NaN;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

/**
 * Why GCS would refuse this signed-URL request (status, XML error code, message), or undefined
 * when its signature verifies: the checks of query-string authentication, with the canonical
 * request rebuilt from what arrived (method, path, query, Host header).
 */
async function signedUrlRefusal(
  req: IncomingMessage,
  url: URL,
  account: SignedUrlAccount,
): Promise<{ status: number; code: string; message: string } | undefined> {
  const params = url.searchParams;
  const denied = (message: string) => ({ status: 403, code: 'AccessDenied', message });
  if (!params.has('X-Goog-Signature')) return denied('Anonymous caller does not have storage.objects.get access (no X-Goog-Signature).');
  if (params.get('X-Goog-Algorithm') !== 'GOOG4-RSA-SHA256') return denied(`Unsupported X-Goog-Algorithm ${params.get('X-Goog-Algorithm') ?? '(none)'}.`);
  const credential = params.get('X-Goog-Credential') ?? '';
  const email = credential.slice(0, credential.indexOf('/'));
  if (email !== account.serviceAccountEmail) return denied(`Unknown service account ${JSON.stringify(email)} in X-Goog-Credential.`);
  const signedAt = goog4Time(params.get('X-Goog-Date') ?? '');
  const expires = Number(params.get('X-Goog-Expires'));
  if (Number.isNaN(signedAt) || !Number.isInteger(expires) || expires < 1 || expires > 604_800) {
    return { status: 400, code: 'AuthenticationRequired', message: 'Malformed X-Goog-Date or X-Goog-Expires.' };
  }
  if (Date.now() > signedAt + expires * 1000) return { status: 400, code: 'ExpiredToken', message: 'Invalid argument: the signed URL has expired.' };
  if (params.get('X-Goog-SignedHeaders') !== 'host') return denied('Only X-Goog-SignedHeaders=host is supported here.');
  // The canonical request as GCS rebuilds it (written apart from edge/gcs-signing.ts on purpose):
  // the path as sent, the query without the signature re-encoded (RFC 3986) and sorted, the Host
  // header the client sent.
  const rfc3986 = (value: string): string => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const query = [...params.entries()]
    .filter(([name]) => name !== 'X-Goog-Signature')
    .map(([name, value]) => `${rfc3986(name)}=${rfc3986(value)}`)
    .sort()
    .join('&');
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const canonicalRequest = [req.method ?? 'GET', path, query, `host:${req.headers.host ?? ''}\n`, 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const scope = credential.slice(credential.indexOf('/') + 1);
  const stringToSign = ['GOOG4-RSA-SHA256', params.get('X-Goog-Date') ?? '', scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const signature = params.get('X-Goog-Signature') ?? '';
  const valid = /^(?:[0-9a-f]{2})+$/.test(signature) && verify('sha256', Buffer.from(stringToSign), account.publicKey, Buffer.from(signature, 'hex'));
  if (!valid) {
    return { status: 403, code: 'SignatureDoesNotMatch', message: `The request signature we calculated does not match the signature you provided. StringToSign: ${stringToSign}` };
  }
  return undefined;
}

/** GCS's XML API error body. */
function xmlError(code: string, message: string): string {
  const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<?xml version='1.0' encoding='UTF-8'?><Error><Code>${code}</Code><Message>${escape(message)}</Message></Error>`;
}

/** A readable message from a value thrown by the emulator. */
function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Starts a storage emulator on a free 127.0.0.1 port. */
export async function startGcsEmulator(options: GcsEmulatorOptions = {}): Promise<GcsEmulator> {
  const projectId = options.projectId ?? 'nixedge-test';
  if (EmulatorRegistry.get('storage') !== undefined) {
    throw new Error('Expected no other storage emulator in this process (firebase-tools keeps one in a global registry)');
  }
  const dir = await mkdtemp(join(tmpdir(), 'nixedge-gcs-emulator-'));

  // The emulator keeps its bytes in `${os.tmpdir()}/firebase/storage/blobs`, shared by every
  // emulator on the machine, and `stop()` deletes that directory: use a private one instead.
  class PrivateStorageEmulator extends StorageEmulator {
    getPersistenceTmpDir(): string {
      return dir;
    }
  }
  const emulator = new PrivateStorageEmulator({
    projectId,
    host: '127.0.0.1',
    port: 0,
    // Never loaded: only the Firebase API (/v0) evaluates rules.
    rules: { name: join(dir, 'storage.rules'), content: '' },
    auto_download: false,
  });
  const app = await createApp(projectId, emulator);

  const requests: GcsEmulatorRequest[] = [];
  const faults: { remaining: number; match: (request: GcsEmulatorRequest) => boolean }[] = [];

  /** The resumable-upload chunk protocol the emulator lacks; false = not a chunk request. */
  async function resumableChunk(req: IncomingMessage, res: ServerResponse, record: GcsEmulatorRequest): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const uploadId = url.searchParams.get('upload_id');
    const contentRange = req.headers['content-range'];
    if (req.method !== 'PUT' || !url.pathname.startsWith('/upload/storage/v1/') || !uploadId || !contentRange) return false;
    const chunk = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange);
    const query = /^bytes \*\/(\d+|\*)$/.exec(contentRange);
    if (!chunk && !query) return false; // e.g. `bytes 0-*/*`: one streamed request, the emulator's own case
    const body = await readBody(req);
    const answer = (status: number, headers: Record<string, string> = {}, data = ''): true => {
      record.status = status;
      res.writeHead(status, headers).end(data);
      return true;
    };
    let upload: EmulatorUpload;
    try {
      upload = emulator.uploadService.getResumableUpload(uploadId);
    } catch {
      return answer(404, {}, 'No such upload');
    }
    if (upload.status === 'final') return answer(200, { 'content-type': 'application/json' }, '{}');
    if (upload.status !== 'active') return answer(499, {}, 'Upload cancelled');
    const persisted = (): Record<string, string> => (upload.size > 0 ? { range: `bytes=0-${upload.size - 1}` } : {});
    let total: string | undefined;
    if (chunk) {
      const start = Number(chunk[1]);
      const end = Number(chunk[2]);
      total = chunk[3];
      if (end - start + 1 !== body.length) return answer(400, {}, `Content-Range ${contentRange} for ${body.length} bytes`);
      if (start > upload.size) return answer(400, {}, `Content-Range ${contentRange} starts after the ${upload.size} bytes received`);
      // Bytes already received (a retried chunk) are skipped, as GCS does.
      emulator.uploadService.continueResumableUpload(uploadId, body.subarray(upload.size - start));
    } else {
      total = query?.[1];
    }
    if (total === '*' || total === undefined || Number(total) !== upload.size) {
      if (total !== '*' && total !== undefined && Number(total) < upload.size) return answer(400, {}, 'More bytes than the total');
      return answer(308, persisted());
    }
    try {
      const finished = emulator.uploadService.finalizeResumableUpload(uploadId);
      const metadata = await emulator.adminStorageLayer.uploadObject(finished);
      return answer(200, { 'content-type': 'application/json' }, JSON.stringify(new CloudStorageObjectMetadata(metadata)));
    } catch (error) {
      return answer(500, {}, describe(error));
    }
  }

  const server = createServer((req, res) => {
    const record: GcsEmulatorRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      contentRange: req.headers['content-range'],
    };
    requests.push(record);
    res.on('finish', () => {
      record.status ??= res.statusCode;
    });
    const fault = faults.find((f) => f.remaining > 0 && f.match(record));
    if (fault) {
      fault.remaining -= 1;
      readBody(req).then(
        () => {
          record.status = 503;
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":503,"message":"injected fault"}}');
        },
        () => res.destroy(),
      );
      return;
    }
    const url = new URL(req.url ?? '/', 'http://emulator');
    const signedUrls = options.signedUrls;
    (signedUrls !== undefined && isPathStyleObject(url)
      ? signedUrlRefusal(req, url, signedUrls).then((refusal) => {
          if (!refusal) return false;
          record.status = refusal.status;
          res.writeHead(refusal.status, { 'content-type': 'application/xml; charset=UTF-8' }).end(xmlError(refusal.code, refusal.message));
          return true;
        })
      : resumableChunk(req, res, record)
    ).then(
      (handled) => {
        if (handled) return;
        // The emulator routes copyTo/rewriteTo only without the `/storage/v1` prefix the client sends.
        if (req.url && REWRITE_WITH_PREFIX.test(req.url)) req.url = req.url.slice('/storage/v1'.length);
        app(req, res);
      },
      (error: unknown) => {
        record.status = 500;
        if (!res.headersSent) res.writeHead(500).end(describe(error));
        else res.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  emulator.args.port = port; // read by the registry for object URLs (selfLink, mediaLink)
  EmulatorRegistry.set(emulator.getName(), emulator);

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    projectId,
    requests,
    failNext(count, match = () => true) {
      faults.push({ remaining: count, match });
    },
    stop() {
      stopped ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        if (EmulatorRegistry.get(emulator.getName()) === emulator) EmulatorRegistry.clear(emulator.getName());
        await emulator.rulesManager.stop();
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
