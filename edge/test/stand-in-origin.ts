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
 *   GET /__requests                      the recorded requests as JSON; DELETE /__requests clears
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

/** Starts the stand-in origin on a free port. */
export async function startStandInOrigin(): Promise<{ port: number; close: () => Promise<void> }> {
  const image = await testImage('hello');
  const zstdImage = await zstdTestImage('hello');
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((request, response) => {
    void (async () => {
      const path = request.url ?? '/';
      if (path === '/__requests') {
        if (request.method === 'DELETE') requests.length = 0;
        response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(requests));
        return;
      }
      const verification = await verifyRequest(TEST_SECRET, { direction: 'edge-to-origin', method: request.method ?? 'GET', pathAndQuery: path, body: new Uint8Array() }, (name) => {
        const value = request.headers[name];
        return Array.isArray(value) ? value[0] : value;
      });
      requests.push({ method: request.method ?? '', path, signed: verification.ok, accept: request.headers.accept });
      const error = (status: number, code: string) =>
        response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errors: [{ code, message: code }] }));
      const manifestMatch = /^\/v2\/(.+)\/manifests\/([^/?]+)/.exec(path);
      if (manifestMatch) {
        if (!verification.ok) return error(401, 'UNAUTHORIZED');
        if (manifestMatch[1] !== 'hello' && manifestMatch[1] !== 'zstd/hello') return error(404, 'MANIFEST_UNKNOWN');
        const oci = (request.headers.accept ?? '').includes('application/vnd.oci.image.manifest.v1+json');
        if (manifestMatch[1] === 'zstd/hello' && !oci) {
          const request = { name: 'zstd/hello', tag: manifestMatch[2] ?? '', flavour: 'docker' as const, userAgent: undefined };
          const refusal = ociOnlyRefusal(request, { mediaType: 'application/vnd.oci.image.manifest.v1+json', body: zstdImage.oci.body });
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
  return { port: address.port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
