/**
 * End to end with two real origins behind the real edge (wrangler dev, local KV and R2, one
 * bucket): 20 cold pulls of distinct images spread over both, each image built once, by the origin
 * rendezvous hashing picks; a hung origin (SIGSTOP) is skipped after ORIGIN_TIMEOUT_SECONDS and
 * then skipped at once; the origin an image maps to is killed and the other builds it.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pMap from 'p-map';
import { startOrigin, FIXTURE_PKGS, type RunningOrigin } from '../../local-stack/origin-process.ts';
import { tempDir } from './clients.ts';
import { originUrls, startLocalEdge, type LocalEdge } from '../../local-stack/index.ts';
import { freePort } from '../../local-stack/wrangler-dev.ts';
import { parseImageName } from '../../shared/reference.ts';
import { rendezvousOrder, routingKey } from '../../shared/rendezvous.ts';

/** Seconds the edge waits for an origin to start answering (fixture builds take one or two). */
const ORIGIN_TIMEOUT_SECONDS = 8;
const IMAGES = [
  'hello', 'git', 'htop', 'jq', 'curl', 'zlib', 'openssl', 'ncurses', 'readline', 'pcre2',
  'expat', 'libffi', 'oniguruma', 'coreutils', 'moreutils', 'nano', 'bashinteractive', 'withdoc', 'openblas', 'glibc',
];
/** More images, for the pulls after the first 20 (two packages each: none of the above). */
const MORE = ['hello/htop', 'hello/jq', 'hello/zlib', 'htop/jq', 'jq/zlib', 'htop/zlib', 'hello/nano', 'jq/nano', 'htop/nano', 'nano/zlib', 'hello/expat', 'jq/expat'];

/** Lets a stopped (SIGSTOP) origin run again; one that exited already is left alone. */
function resume(origin: RunningOrigin): void {
  try {
    process.kill(origin.pid, 'SIGCONT');
  } catch {
    // ESRCH: it was killed
  }
}

describe('two origins behind the edge', () => {
  let local: LocalEdge;
  let origins: RunningOrigin[];
  let urls: string[];
  let state: { path: string; cleanup: () => Promise<void> };

  before(async () => {
    state = await tempDir('origins-state');
    const ports = [await freePort(), await freePort()];
    urls = originUrls(ports);
    local = await startLocalEdge({ persistTo: state.path, originPort: ports[0]!, originPorts: ports, vars: { ORIGIN_TIMEOUT_SECONDS: String(ORIGIN_TIMEOUT_SECONDS) } });
    origins = await Promise.all(ports.map((port) => startOrigin({ ...local.originEnv, PORT: String(port), NIXERY_PKGS_PATH: FIXTURE_PKGS })));
  });
  after(async () => {
    for (const origin of origins) {
      resume(origin);
      await origin.stop('SIGKILL');
    }
    await local.edge.stop();
    await state.cleanup();
  });

  /** The origin (index) rendezvous hashing sends an image's pulls to first. */
  const firstOrigin = async (image: string): Promise<number> => urls.indexOf((await rendezvousOrder(routingKey(parseImageName(image).canonical, 'latest'), urls))[0]!);
  /** The canonical names each origin published, as its log says. */
  const published = (origin: RunningOrigin): string[] => origin.logs.filter((line) => line.msg === 'image published').map((line) => String(line['image']));
  const canonical = (image: string): string => parseImageName(image).canonical.replaceAll('\n', ' ');
  /** A cold pull's first request through the edge: the manifest by tag (it builds). */
  const pull = async (image: string): Promise<{ status: number; cache: string | null; ms: number }> => {
    const started = Date.now();
    const response = await fetch(`${local.edge.url}/v2/${image}/manifests/latest`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const body = await response.text();
    assert.equal(response.status, 200, `${image}: ${body}`);
    return { status: response.status, cache: response.headers.get('x-nixedge-cache'), ms: Date.now() - started };
  };
  /** The next image of MORE whose first origin is `index`. */
  const nextImageFor = async (index: number): Promise<string> => {
    for (;;) {
      const image = MORE.shift();
      assert.ok(image, `Expected another image that maps to origin ${index}`);
      if ((await firstOrigin(image)) === index) return image;
    }
  };

  it('spreads 20 cold pulls over both origins, each image built once, where rendezvous hashing sends it', async () => {
    const results = await pMap(IMAGES, pull, { concurrency: 4 });
    assert.ok(results.every((result) => result.cache === 'MISS'));
    const shares = origins.map(published);
    for (const image of IMAGES) {
      const builtBy = shares.map((share, index) => share.filter((name) => name === canonical(image)).map(() => index)).flat();
      assert.deepEqual(builtBy, [await firstOrigin(image)], `${image} is built once, by the origin it maps to`);
    }
    assert.ok(shares.every((share) => share.length >= 4), `each origin builds its share (${shares.map((share) => share.length).join(' and ')})`);
  });

  it('skips a hung origin (SIGSTOP) after the origin timeout, then at once', async () => {
    const hung = origins[1]!;
    const builtBefore = published(origins[0]!).length;
    process.kill(hung.pid, 'SIGSTOP');
    try {
      const first = await pull(await nextImageFor(1));
      assert.ok(first.ms >= ORIGIN_TIMEOUT_SECONDS * 1000, `waited the origin timeout (${first.ms} ms)`);
      assert.ok(first.ms < ORIGIN_TIMEOUT_SECONDS * 1000 + 15_000, `then the other origin built it (${first.ms} ms)`);
      const second = await pull(await nextImageFor(1));
      assert.ok(second.ms < ORIGIN_TIMEOUT_SECONDS * 1000, `the hung origin is skipped at once now (${second.ms} ms)`);
      assert.equal(published(origins[0]!).length, builtBefore + 2, 'the other origin built both');
    } finally {
      resume(hung);
    }
  });

  it('a pull of an image whose origin was killed is built by the other', async () => {
    const image = await nextImageFor(0);
    await origins[0]!.stop('SIGKILL');
    const result = await pull(image);
    assert.equal(result.cache, 'MISS');
    assert.ok(published(origins[1]!).includes(canonical(image)), `${image} built by the surviving origin`);
  });
});
