/**
 * The runtime's floor for bench/edge.ts: answers every request with one manifest, held in memory,
 * and the headers the edge sends with a cache hit. The manifest comes from vars (bench/edge.ts
 * passes MANIFEST_BASE64, MANIFEST_DIGEST and MANIFEST_MEDIA_TYPE) and is decoded once.
 */

interface Env {
  MANIFEST_BASE64: string;
  MANIFEST_DIGEST: string;
  MANIFEST_MEDIA_TYPE: string;
}

let body: Uint8Array<ArrayBuffer> | undefined;
let headers: Record<string, string> | undefined;

export default {
  fetch(request: Request, env: Env): Response {
    if (body === undefined || headers === undefined) {
      const binary = atob(env.MANIFEST_BASE64);
      body = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) body[i] = binary.charCodeAt(i);
      headers = {
        'Content-Type': env.MANIFEST_MEDIA_TYPE,
        'Content-Length': String(body.byteLength),
        'Docker-Content-Digest': env.MANIFEST_DIGEST,
        ETag: `"${env.MANIFEST_DIGEST}"`,
        'Cache-Control': 'public, max-age=31536000, immutable',
        'X-Nixedge-Cache': 'HIT',
        'Docker-Distribution-API-Version': 'registry/2.0',
      };
    }
    return new Response(request.method === 'HEAD' ? null : body, { status: 200, headers });
  },
};
