/**
 * KV reads counted per request, for the edge's request log: the handlers use `requestKv(c)` in
 * place of the CACHE binding, a view of it that counts every read (get, getWithMetadata, list)
 * against the request. Kept by request object, so no handler passes a counter around.
 */

import type { Context } from 'hono';
import type { EdgeEnv } from './env.ts';

/** Reads made so far, by request. */
const readsByRequest = new WeakMap<Request, { reads: number }>();

/** The KV operations that are reads (billed and timed as such). */
const READS = new Set<string | symbol>(['get', 'getWithMetadata', 'list']);

/** Starts counting the KV reads of this request (from zero). */
export function countKvReads(request: Request): void {
  readsByRequest.set(request, { reads: 0 });
}

/** The KV reads this request made so far. */
export function kvReads(request: Request): number {
  return readsByRequest.get(request)?.reads ?? 0;
}

/** The CACHE binding as this request sees it: the same namespace, its reads counted. */
export function requestKv(c: Context<EdgeEnv>): KVNamespace {
  const counter = readsByRequest.get(c.req.raw);
  const kv = c.env.CACHE;
  if (!counter) return kv;
  return new Proxy(kv, {
    get(target, property) {
      // Read from the target itself: a getter using private fields (or a native binding's) fails on the proxy.
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        if (READS.has(property)) counter.reads += 1;
        return Reflect.apply(value, target, args);
      };
    },
  });
}
