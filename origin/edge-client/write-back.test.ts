import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { MediaType } from '../../shared/media-types.ts';
import { MAX_WRITE_BACK_BYTES, WRITE_BACK_PATH, writeBackSchema, type WriteBack } from '../../shared/protocol.ts';
import { verifyRequest, type Verification } from '../../shared/signing.ts';
import { digestFromHex } from '../../shared/digest.ts';
import type { ResolvedImage } from '../builder/resolved-image.ts';
import { imageRecord } from '../cache/image-cache.ts';
import { buildImage, type BuiltImage } from '../image/manifest.ts';
import { EdgeWriteBack } from './write-back.ts';

const SECRET = 'write-back-test-secret-0123456789abcdef';

/** One request the stand-in edge received. */
interface Received {
  verification: Verification;
  contentType: string | undefined;
  body: WriteBack | undefined;
  bodyError: string | undefined;
}

/**
 * A stand-in edge (the real Worker is tested in edge/): verifies signatures with verifyRequest,
 * validates bodies with writeBackSchema, and answers with the statuses it is told to, in order
 * (200 once the list is used up).
 */
class StandInEdge {
  readonly received: Received[] = [];
  statuses: number[] = [];
  #server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.#server = createServer((request, response) => {
      void this.#handle(request).then(
        (status) => response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status })),
        () => response.writeHead(500).end(),
      );
    });
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async #handle(request: IncomingMessage): Promise<number> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    const verification = await verifyRequest(
      SECRET,
      { direction: 'origin-to-edge', method: request.method ?? '', pathAndQuery: request.url ?? '', body: bytes },
      (name) => {
        const value = request.headers[name];
        return Array.isArray(value) ? value[0] : value;
      },
    );
    let body: WriteBack | undefined;
    let bodyError: string | undefined;
    try {
      body = writeBackSchema.parse(JSON.parse(bytes.toString('utf8')));
    } catch (error) {
      bodyError = String(error);
    }
    this.received.push({ verification, contentType: request.headers['content-type'], body, bodyError });
    if (request.url !== WRITE_BACK_PATH || request.method !== 'POST') return 404;
    if (!verification.ok) return 401;
    if (!body) return 400;
    return this.statuses.shift() ?? 200;
  }

  reset(statuses: number[] = []): void {
    this.received.length = 0;
    this.statuses = statuses;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }
}

/** Log lines, parsed. */
const logs: Record<string, unknown>[] = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });

function layer(n: number, size: number) {
  return { digest: digestFromHex(n.toString(16).padStart(64, '0')), diffId: digestFromHex((n + 100).toString(16).padStart(64, '0')), size };
}

describe('EdgeWriteBack against a stand-in edge (the real Worker is tested in edge/)', () => {
  const edge = new StandInEdge();
  let built: BuiltImage;
  let image: ResolvedImage;
  const layers = [layer(1, 1000), layer(2, 2345), layer(3, 77)];

  before(async () => {
    await edge.start();
    built = await buildImage({ system: 'x86_64-linux', layers, env: ['PATH=/bin'], cmd: ['/bin/bash'] });
    image = { record: imageRecord(built, layers), pinned: false };
  });
  after(async () => {
    await edge.stop();
  });

  const writeBack = (options: { edgeUrl?: string; attempts?: number; dedupeMs?: number } = {}) =>
    new EdgeWriteBack({
      edgeUrl: options.edgeUrl ?? edge.url,
      secret: SECRET,
      logger,
      attempts: options.attempts ?? 6,
      baseDelayMs: 5,
      maxDelayMs: 20,
      ...(options.dedupeMs === undefined ? {} : { dedupeMs: options.dedupeMs }),
    });

  it('delivers a signed write-back with the exact manifest bytes and the blob sizes', async () => {
    edge.reset();
    logs.length = 0;
    const sender = writeBack();
    sender.enqueue('shell/hello', 'latest', image);
    await sender.drain();
    assert.equal(edge.received.length, 1);
    const [received] = edge.received;
    assert.ok(received);
    assert.equal(received.verification.ok, true, JSON.stringify(received.verification));
    assert.equal(received.contentType, 'application/json');
    assert.equal(received.bodyError, undefined);
    const body = received.body;
    assert.ok(body);
    assert.deepEqual(body.tag, {
      name: 'shell/hello',
      tag: 'latest',
      pinned: false,
      manifests: {
        oci: { digest: built.manifests.oci.digest, size: built.manifests.oci.bytes.length },
        docker: { digest: built.manifests.docker.digest, size: built.manifests.docker.bytes.length },
      },
    });
    assert.equal(body.manifests.length, 2);
    for (const flavour of ['oci', 'docker'] as const) {
      const manifest: WriteBack['manifests'][number] | undefined = body.manifests.find((m) => m.digest === built.manifests[flavour].digest);
      assert.ok(manifest, `${flavour} manifest sent`);
      assert.ok(Buffer.from(manifest.body, 'utf8').equals(built.manifests[flavour].bytes), `${flavour} manifest bytes equal the built ones`);
      assert.equal(manifest.mediaType, flavour === 'oci' ? MediaType.ociManifest : MediaType.dockerManifest);
    }
    const sizes = new Map(body.blobs.map((b) => [b.digest, b.size]));
    assert.equal(sizes.size, body.blobs.length, 'each blob once');
    assert.deepEqual(
      sizes,
      new Map([[built.config.digest, built.config.bytes.length], ...layers.map((l) => [l.digest, l.size] as const)]),
    );
    const line = logs.find((l) => l['msg'] === 'write-back delivered');
    assert.ok(line, 'one log line per delivery');
    assert.equal(line['attempts'], 1);
    assert.equal(typeof line['durationMs'], 'number');
  });

  it('retries 503s: 503, 503, 200 is exactly 3 attempts, each signed afresh', async () => {
    edge.reset([503, 503]);
    logs.length = 0;
    const sender = writeBack();
    sender.enqueue('hello', 'latest', image);
    await sender.drain();
    assert.equal(edge.received.length, 3);
    assert.ok(edge.received.every((r) => r.verification.ok));
    const nonces = new Set(edge.received.map((r) => (r.verification.ok ? r.verification.nonce : '')));
    assert.equal(nonces.size, 3, 'a fresh nonce per attempt (the edge refuses replays)');
    assert.equal(logs.find((l) => l['msg'] === 'write-back delivered')?.['attempts'], 3);
  });

  it('retries 429 too', async () => {
    edge.reset([429]);
    const sender = writeBack();
    sender.enqueue('hello', 'latest', image);
    await sender.drain();
    assert.equal(edge.received.length, 2);
  });

  it('tells onOutcome how each write-back ended: delivered, failed, dropped', async () => {
    const outcomes: string[] = [];
    const sender = (maxPending = 1000) =>
      new EdgeWriteBack({ edgeUrl: edge.url, secret: SECRET, logger, attempts: 1, maxPending, onOutcome: (outcome) => outcomes.push(outcome) });
    edge.reset([200]);
    const delivering = sender();
    delivering.enqueue('outcome/delivered', 'latest', image);
    await delivering.drain();
    edge.reset([400]);
    const failing = sender();
    failing.enqueue('outcome/failed', 'latest', image);
    await failing.drain();
    sender(0).enqueue('outcome/dropped', 'latest', image);
    assert.deepEqual(outcomes, ['delivered', 'failed', 'dropped']);
  });

  it('does not retry a 400, and logs it as an error', async () => {
    edge.reset([400, 400, 400]);
    logs.length = 0;
    const sender = writeBack();
    sender.enqueue('hello', 'latest', image);
    await sender.drain();
    assert.equal(edge.received.length, 1);
    const line = logs.find((l) => l['msg'] === 'write-back to the edge failed');
    assert.ok(line);
    assert.equal(line['level'], 50);
    assert.equal(line['attempts'], 1);
  });

  it('never throws into the caller when the edge is down; drain resolves after the attempts', async () => {
    // A port that was just free: nothing listens there.
    const down = new StandInEdge();
    await down.start();
    const deadUrl = down.url;
    await down.stop();
    logs.length = 0;
    const sender = writeBack({ edgeUrl: deadUrl, attempts: 3 });
    assert.doesNotThrow(() => sender.enqueue('hello', 'latest', image));
    assert.equal(sender.pending, 1, 'enqueue returns before delivery');
    await sender.drain();
    assert.equal(sender.pending, 0);
    const line = logs.find((l) => l['msg'] === 'write-back to the edge failed');
    assert.ok(line);
    assert.equal(line['attempts'], 3);
    assert.equal(logs.filter((l) => l['msg'] === 'write-back attempt failed; retrying').length, 2);
  });

  it('sends identical write-backs once within a minute; a different tag or image is sent', async () => {
    edge.reset();
    const sender = writeBack();
    sender.enqueue('hello', 'latest', image);
    sender.enqueue('hello', 'latest', image); // while the first is in flight
    await sender.drain();
    sender.enqueue('hello', 'latest', image); // after it was delivered
    await sender.drain();
    assert.equal(edge.received.length, 1);
    sender.enqueue('hello', 'v1', image);
    sender.enqueue('hello', 'latest', { ...image, pinned: true });
    await sender.drain();
    assert.equal(edge.received.length, 3);
  });

  it('sends an identical write-back again once the dedupe window has passed', async () => {
    edge.reset();
    const sender = writeBack({ dedupeMs: 30 });
    sender.enqueue('hello', 'latest', image);
    await sender.drain();
    await new Promise((resolve) => setTimeout(resolve, 40));
    sender.enqueue('hello', 'latest', image);
    await sender.drain();
    assert.equal(edge.received.length, 2);
  });

  it('a failed write-back is not deduplicated: the next request tries again', async () => {
    edge.reset([400]);
    const sender = writeBack();
    sender.enqueue('hello', 'latest', image);
    await sender.drain();
    sender.enqueue('hello', 'latest', image);
    await sender.drain();
    assert.equal(edge.received.length, 2);
    assert.equal(edge.received.filter((r) => r.verification.ok).length, 2);
  });

  it('a write-back over the edge\'s size limit is logged, not thrown, and not sent', async () => {
    edge.reset();
    logs.length = 0;
    const sender = writeBack();
    const huge = 'x'.repeat(MAX_WRITE_BACK_BYTES);
    const oversized = { ...image, record: { ...image.record, documents: image.record.documents.map((d) => ({ ...d, body: huge })) } };
    assert.doesNotThrow(() => sender.enqueue('hello', 'latest', oversized));
    await sender.drain();
    assert.equal(edge.received.length, 0);
    assert.ok(logs.some((l) => l['msg'] === 'write-back failed' && l['level'] === 50));
  });
});
