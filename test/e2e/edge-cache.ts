/** What end-to-end tests observe of the edge's cache. */

/** Polls until the edge answers a manifest from KV (the origin's write-back has landed). */
export async function waitForEdgeHit(edgeUrl: string, path: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const response = await fetch(`${edgeUrl}${path}`, { method: 'HEAD' });
    if (response.headers.get('x-nixedge-cache') === 'HIT') return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Expected ${path} to become a cache hit at the edge within 20 s`);
}
