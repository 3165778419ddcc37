/**
 * The behaviour of the registry surface (./registry-surface.ts) as one suite of cases, run by the
 * edge's tests (in workerd, vitest) and the origin's (Node's test runner) against their real apps:
 * what a registry client sees of either tier, independent of any image. Written without a test
 * library so both runners can register the same cases: each case throws on a failed check.
 *
 *   for (const c of registrySurfaceCases) it(c.name, () => c.run((path, init) => app.request(path, init)));
 */

/** Sends a request to the app under test. */
export type Send = (path: string, init?: RequestInit) => Promise<Response>;

export interface RegistrySurfaceCase {
  name: string;
  run(send: Send): Promise<void>;
}

/** Throws `message` unless `condition` holds. */
function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

function equal(actual: unknown, expected: unknown, what: string): void {
  check(JSON.stringify(actual) === JSON.stringify(expected), `Expected ${what} to be ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/** Checks a registry error answer: status, JSON content type, one error with this code. */
async function expectError(response: Response, status: number, code: string, what: string): Promise<void> {
  equal(response.status, status, `the status of ${what}`);
  check((response.headers.get('content-type') ?? '').startsWith('application/json'), `Expected ${what} to answer JSON, got ${response.headers.get('content-type')}`);
  const body = (await response.json()) as { errors?: { code?: string; message?: string }[] };
  equal(body.errors?.map((error) => error.code), [code], `the error codes of ${what}`);
  check(typeof body.errors?.[0]?.message === 'string' && body.errors[0].message.length > 0, `Expected ${what} to say why`);
}

export const registrySurfaceCases: readonly RegistrySurfaceCase[] = [
  {
    name: 'GET and HEAD /v2/ answer 200 {} with the API version header, whatever the query',
    async run(send) {
      for (const path of ['/v2/', '/v2', '/v2/?ns=docker.io']) {
        const get = await send(path);
        equal(get.status, 200, `GET ${path}`);
        equal(get.headers.get('docker-distribution-api-version'), 'registry/2.0', `the API version header of GET ${path}`);
        equal(await get.json(), {}, `the body of GET ${path}`);
      }
      const head = await send('/v2/', { method: 'HEAD' });
      equal(head.status, 200, 'HEAD /v2/');
      equal(await head.text(), '', 'the body of HEAD /v2/');
    },
  },
  {
    name: 'every method but GET and HEAD is 405 UNSUPPORTED in the registry error format',
    async run(send) {
      for (const method of ['PUT', 'POST', 'DELETE', 'PATCH']) {
        for (const path of ['/v2/hello/manifests/latest', `/v2/hello/blobs/sha256:${'a'.repeat(64)}`, '/v2/hello/blobs/uploads/', '/v2/']) {
          await expectError(await send(path, { method }), 405, 'UNSUPPORTED', `${method} ${path}`);
        }
      }
    },
  },
  {
    name: 'tags/list names the repository and its tag latest, with or without a query',
    async run(send) {
      for (const path of ['/v2/shell/hello/tags/list', '/v2/shell/hello/tags/list?n=10']) {
        const response = await send(path);
        equal(response.status, 200, `GET ${path}`);
        equal(await response.json(), { name: 'shell/hello', tags: ['latest'] }, `the body of GET ${path}`);
      }
    },
  },
  {
    name: 'an invalid image name is 400 NAME_INVALID on every route',
    async run(send) {
      for (const path of ['/v2/Hello/manifests/latest', '/v2/hello..world/tags/list', `/v2/-x/blobs/sha256:${'a'.repeat(64)}`]) {
        await expectError(await send(path), 400, 'NAME_INVALID', `GET ${path}`);
      }
    },
  },
  {
    name: 'a malformed digest is 400 DIGEST_INVALID, a malformed tag 404 MANIFEST_UNKNOWN',
    async run(send) {
      await expectError(await send('/v2/hello/manifests/sha256:abc'), 400, 'DIGEST_INVALID', 'a short manifest digest');
      await expectError(await send(`/v2/hello/manifests/md5:${'a'.repeat(32)}`), 400, 'DIGEST_INVALID', 'another algorithm');
      await expectError(await send('/v2/hello/blobs/not-a-digest'), 400, 'DIGEST_INVALID', 'a blob by a non-digest');
      await expectError(await send('/v2/hello/manifests/.hidden'), 404, 'MANIFEST_UNKNOWN', 'a tag starting with "."');
    },
  },
  {
    name: 'unknown endpoints are 404 NAME_UNKNOWN in the registry error format',
    async run(send) {
      for (const path of ['/v3/', '/v2/hello/uploads', '/v2/hello/referrers/x', '/favicon.ico/x']) {
        await expectError(await send(path), 404, 'NAME_UNKNOWN', `GET ${path}`);
      }
    },
  },
  {
    name: 'the address itself answers a page saying how to pull',
    async run(send) {
      const response = await send('/');
      equal(response.status, 200, 'GET /');
      check((response.headers.get('content-type') ?? '').startsWith('text/html'), 'Expected the page at / to be HTML');
      check((response.headers.get('content-security-policy') ?? '').includes("connect-src 'self'"), 'Expected the page at / to talk to this registry only');
      const page = await response.text();
      check(/docker pull [^\s<]+\/shell\/git\/htop/.test(page), 'Expected the page at / to show a pull command with this host');
      for (const topic of ['arm64', 'NIXEDGE_PLATFORMS', 'When an image cannot be built', '<form']) {
        check(page.includes(topic), `Expected the page at / to mention ${topic}`);
      }
      equal((await send('/', { method: 'HEAD' })).status, 200, 'HEAD /');
    },
  },
  {
    name: 'the page composes an image name from its form without JavaScript, and says what is wrong with a bad one',
    async run(send) {
      const composed = await (await send('/?packages=Git+htop&shell=on&tag=latest')).text();
      check(/docker pull [^\s<]+\/shell\/git\/htop</.test(composed), 'Expected the composed pull command for shell/git/htop');
      const tagged = await (await send('/?packages=hello&arm64=on&tag=nixos-24.05')).text();
      check(/docker pull [^\s<]+\/arm64\/hello:nixos-24\.05</.test(tagged), 'Expected the composed pull command with its tag');
      const invalid = await (await send('/?packages=hello..world')).text();
      check(invalid.includes('Invalid image name'), 'Expected the page to say why a composed name is invalid');
    },
  },
  {
    name: 'a browser asking a URL that fails gets the same status with a short HTML page; clients keep the JSON',
    async run(send) {
      const browser = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
      for (const [path, method, status, code] of [
        ['/v2/Hello/manifests/latest', 'GET', 400, 'NAME_INVALID'],
        ['/v2/hello/manifests/latest', 'PUT', 405, 'UNSUPPORTED'],
        ['/v3/', 'GET', 404, 'NAME_UNKNOWN'],
      ] as const) {
        const page = await send(path, { method, headers: browser });
        equal(page.status, status, `the status of ${method} ${path} for a browser`);
        check((page.headers.get('content-type') ?? '').startsWith('text/html'), `Expected ${method} ${path} to answer a browser HTML`);
        check((page.headers.get('vary') ?? '').toLowerCase().includes('accept'), `Expected the page for ${method} ${path} to vary on Accept`);
        const text = await page.text();
        check(text.includes(code), `Expected the page for ${method} ${path} to name ${code}`);
        check(text.includes('href="/"'), `Expected the page for ${method} ${path} to link to the front page`);
        await expectError(await send(path, { method }), status, code, `${method} ${path} from a registry client`);
      }
      const head = await send('/v2/Hello/manifests/latest', { method: 'HEAD', headers: browser });
      equal(head.status, 400, 'HEAD of an invalid name for a browser');
      equal(await head.text(), '', 'the body of a HEAD');
    },
  },
];
