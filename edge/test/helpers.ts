/** Helpers for edge tests running in workerd: calling the app, signing write-backs, counting KV reads. */

import { env, createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { app } from '../index.ts';
import type { Bindings } from '../env.ts';
import { signRequest } from '../../shared/signing.ts';
import { WRITE_BACK_PATH, type WriteBack } from '../../shared/protocol.ts';
import { TEST_SECRET, type TestImage } from './fixtures.ts';

export const HOST = 'https://edge.example.test';
export const DOCKER_ACCEPT = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';

/** The test bindings, with overrides. */
export function bindings(overrides: Partial<Bindings> = {}): Bindings {
  return { ...(env as Bindings), ...overrides };
}

/** Sends a request through the Worker and waits for its background work (waitUntil). */
export async function send(path: string, init: RequestInit = {}, overrides: Partial<Bindings> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`${HOST}${path}`, init), bindings(overrides), ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** A write-back as the origin sends it: the image's manifests, tag pointer and blob sizes. */
export function writeBackFor(image: TestImage, name: string, tag: string, pinned: boolean): WriteBack {
  return {
    tag: {
      name,
      tag,
      pinned,
      manifests: {
        oci: { digest: image.oci.digest, size: image.oci.body.length },
        docker: { digest: image.docker.digest, size: image.docker.body.length },
      },
    },
    manifests: [
      { digest: image.oci.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', body: image.oci.body },
      // A zstd image's Docker flavour is its OCI manifest: sent once, as the origin does.
      ...(image.docker.digest === image.oci.digest
        ? []
        : [{ digest: image.docker.digest, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', body: image.docker.body }]),
    ],
    blobs: [image.layer, image.config],
  };
}

/** POSTs a write-back signed with `secret` (the test secret by default). */
export async function postWriteBack(
  body: string,
  options: { secret?: string; now?: number; headers?: Record<string, string>; signBody?: string; bindings?: Partial<Bindings> } = {},
): Promise<Response> {
  const bytes = new TextEncoder().encode(options.signBody ?? body);
  const signature = await signRequest(options.secret ?? TEST_SECRET, { direction: 'origin-to-edge', method: 'POST', pathAndQuery: WRITE_BACK_PATH, body: bytes }, options.now);
  return send(WRITE_BACK_PATH, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/json', ...signature, ...options.headers },
  }, options.bindings);
}

/** A KV namespace that counts the reads made through it. */
export function countingKv(kv: KVNamespace): { kv: KVNamespace; reads: () => number; writtenKeys: () => string[] } {
  let reads = 0;
  const written: string[] = [];
  const counted = new Proxy(kv, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (property === 'get' || property === 'getWithMetadata') reads += 1;
        if (property === 'put') written.push(String(args[0]));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { kv: counted, reads: () => reads, writtenKeys: () => [...written] };
}

/** The requests the stand-in origin received since the last reset. */
export async function originRequests(): Promise<{ method: string; path: string; signed: boolean }[]> {
  const url = env.ORIGIN_URL;
  return (await (await fetch(`${url}/__requests`)).json()) as { method: string; path: string; signed: boolean }[];
}

export async function resetOriginRequests(): Promise<void> {
  await fetch(`${env.ORIGIN_URL}/__requests`, { method: 'DELETE' });
}

/** The registry error code of a response. */
export async function errorCode(response: Response): Promise<string | undefined> {
  const body = (await response.json()) as { errors?: { code: string }[] };
  return body.errors?.[0]?.code;
}
