/**
 * A stand-in for the origin in edge unit tests (the real origin is exercised end to end in
 * test/e2e): a real HTTP server that verifies the edge's signatures like the origin does, serves
 * the test image for `hello` and records every request it gets.
 *
 *   GET|HEAD /v2/hello/manifests/<tag>   the test image (OCI or Docker by Accept); 401 if unsigned
 *   GET|HEAD /v2/zstd/hello/manifests/<tag>  a zstd image: OCI, or the origin's 404 with Vary: Accept
 *                                        to a Docker-only Accept (shared/oci-only.ts)
 *   GET|HEAD /v2/<other>/manifests/...   404 MANIFEST_UNKNOWN
 *   GET /v2/hello/blobs/<layer digest>   the layer bytes; other blobs 404 BLOB_UNKNOWN
 *   GET /_nixedge/status[?query]         a build status document naming the query it answered
 *   GET /__requests                      the recorded requests as JSON; DELETE /__requests clears
 *   PUT /__mode                          how it answers from now on (body): "ok" (as above), "hang"
 *                                        (accepts and never answers), "bad-gateway" (502 HTML, as a
 *                                        proxy in front of a dead origin), "registry-unavailable"
 *                                        (503 UNAVAILABLE in the registry's format, as a build's)
 *
 * Every answer carries `x-stand-in: <name>`, so tests with several stand-ins see which answered.
 */

import { createServer, type Server } from 'node:http';
import { verifyRequest } from '../../shared/signing.ts';
import { TEST_SECRET, testImage, zstdTestImage } from './fixtures.ts';
import { ociOnlyRefusal } from '../../shared/oci-only.ts';

export interface RecordedRequest {
  method: string;
  path: string;
  signed: boolean;
  accept: string | undefined;
}

/** How a stand-in answers registry requests. */
type Mode = 'ok' | 'hang' | 'bad-gateway' | 'registry-unavailable';
const MODES: readonly string[] = ['ok', 'hang', 'bad-gateway', 'registry-unavailable'];

/** Starts a stand-in origin called `name` on a free port. */
export async function startStandInOrigin(name = 'origin'): Promise<{ port: number; close: () => Promise<void> }> {
  const image = await testImage('hello');
  const zstdImage = await zstdTestImage('hello');
  const requests: RecordedRequest[] = [];
  let mode: Mode = 'ok';
  const server: Server = createServer((request, response) => {
    void (async () => {
      const path = request.url ?? '/';
      response.setHeader('x-stand-in', name);
      if (path === '/__requests') {
        if (request.method === 'DELETE') requests.length = 0;
        response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(requests));
        return;
      }
      if (path === '/__mode' && request.method === 'PUT') {
        let body = '';
        for await (const chunk of request) body += String(chunk);
        if (!MODES.includes(body)) return response.writeHead(400).end(`unknown mode ${body}`);
        mode = body as Mode;
        response.writeHead(204).end();
        return;
      }
      const verification = await verifyRequest(TEST_SECRET, { direction: 'edge-to-origin', method: request.method ?? 'GET', pathAndQuery: path, body: new Uint8Array() }, (name) => {
        const value = request.headers[name];
        return Array.isArray(value) ? value[0] : value;
      });
      requests.push({ method: request.method ?? '', path, signed: verification.ok, accept: request.headers.accept });
      if (mode === 'hang') return; // never answers; closed with the server
      if (mode === 'bad-gateway') return response.writeHead(502, { 'Content-Type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>');
      if (mode === 'registry-unavailable') {
        response.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '30' });
        return response.end(request.method === 'HEAD' ? undefined : JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'nix timed out building this image' }] }));
      }
      const error = (status: number, code: string) =>
        response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errors: [{ code, message: code }] }));
      if (path.startsWith('/_nixedge/status')) {
        const query = new URL(path, 'http://stand-in').searchParams;
        const build = { id: `stand-in-${name}`, image: query.get('image') ?? 'hello', tag: query.get('tag') ?? 'latest', platform: 'linux/amd64', step: 'realise', startedAt: new Date().toISOString(), elapsedMs: 1, layers: { done: 0, total: null, cached: 0 }, bytesCompressed: 0 };
        const queue = { running: 1, queued: 0 };
        response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ generatedAt: new Date().toISOString(), queues: { builds: queue, evaluations: queue }, inFlight: [build], recent: [] }));
        return;
      }
      const manifestMatch = /^\/v2\/(.+)\/manifests\/([^/?]+)/.exec(path);
      if (manifestMatch) {
        if (!verification.ok) return error(401, 'UNAUTHORIZED');
        if (manifestMatch[1] !== 'hello' && manifestMatch[1] !== 'zstd/hello') return error(404, 'MANIFEST_UNKNOWN');
        const oci = (request.headers.accept ?? '').includes('application/vnd.oci.image.manifest.v1+json');
        if (manifestMatch[1] === 'zstd/hello' && !oci) {
          const request = { name: 'zstd/hello', tag: manifestMatch[2] ?? '', flavour: 'docker' as const, userAgent: undefined };
          const refusal = await ociOnlyRefusal(request, { mediaType: 'application/vnd.oci.image.manifest.v1+json', body: zstdImage.oci.body }, () => Promise.resolve(undefined));
          response.writeHead(404, { 'Content-Type': 'application/json', ...refusal?.headers }).end(JSON.stringify(refusal?.toBody()));
          return;
        }
        const flavour = manifestMatch[1] === 'zstd/hello' ? zstdImage.oci : oci ? image.oci : image.docker;
        const body = Buffer.from(flavour.body);
        response.writeHead(200, {
          'Content-Type': JSON.parse(flavour.body).mediaType as string,
          'Content-Length': body.length,
          'Docker-Content-Digest': flavour.digest,
        });
        response.end(request.method === 'HEAD' ? undefined : body);
        return;
      }
      const blobMatch = /^\/v2\/(.+)\/blobs\/([^/?]+)/.exec(path);
      if (blobMatch && blobMatch[2] === image.layer.digest) {
        response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': image.layer.size });
        response.end(request.method === 'HEAD' ? undefined : Buffer.alloc(image.layer.size, 7));
        return;
      }
      if (blobMatch) return error(404, 'BLOB_UNKNOWN');
      error(404, 'NAME_UNKNOWN');
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('Expected the stand-in origin to listen on a port');
  return {
    port: address.port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections(); // hung requests too
        server.close(() => resolve());
      }),
  };
}
