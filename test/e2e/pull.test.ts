/**
 * End to end: the real origin building from the fixture package set with real nix, pulled by
 * real clients (skopeo, umoci), the images run with chroot.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, stat, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { startOrigin, FIXTURE_PKGS, type RunningOrigin } from '../../local-stack/origin-process.ts';
import { chrootRun, pullAndUnpack, skopeoCopy, skopeoInspectDigest, tempDir, umociUnpack } from './clients.ts';

const DOCKER_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');
const OCI_ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';

describe('pulling images from the origin alone', () => {
  let origin: RunningOrigin;
  let storage: { path: string; cleanup: () => Promise<void> };
  let work: { path: string; cleanup: () => Promise<void> };

  before(async () => {
    storage = await tempDir('storage');
    work = await tempDir('work');
    origin = await startOrigin({ NIXERY_PKGS_PATH: FIXTURE_PKGS, NIXERY_STORAGE_BACKEND: 'filesystem', STORAGE_PATH: storage.path });
  });
  after(async () => {
    await origin?.stop();
    await storage?.cleanup();
    await work?.cleanup();
  });

  it('skopeo pulls shell/hello, umoci unpacks it, and it runs', async () => {
    const rootfs = await pullAndUnpack(origin.host, 'shell/hello:latest', join(work.path, 'hello'));
    assert.equal((await chrootRun(rootfs, ['/bin/hello'])).trim(), 'Hello, world!');
    assert.equal((await chrootRun(rootfs, ['/bin/sh', '-c', 'echo $((6 * 7)) && ls /bin/hello'])).split('\n')[0], '42');
    assert.equal((await chrootRun(rootfs, ['/bin/bash', '-c', 'echo from bash'])).trim(), 'from bash');
    assert.equal((await chrootRun(rootfs, ['/usr/bin/env', 'sh', '-c', 'echo env works'])).trim(), 'env works');
    const tmp = await stat(join(rootfs, 'tmp'));
    assert.equal(tmp.mode & 0o7777, 0o1777, '/tmp is world-writable and sticky');
    const passwd = await readFile(join(rootfs, 'etc/passwd'), 'utf8');
    assert.match(passwd, /^root:x:0:0:/m);
    assert.match(passwd, /^nobody:x:65534:65534:/m);
    assert.match(await readFile(join(rootfs, 'etc/group'), 'utf8'), /^root:x:0:/m);
    assert.ok((await readFile(join(rootfs, 'etc/ssl/certs/ca-bundle.crt'), 'utf8')).includes('BEGIN CERTIFICATE'), 'cacert is always added');
    assert.ok((await readlink(join(rootfs, 'bin/hello'))).startsWith('/nix/store/'), 'bin/hello links into the store');
    const config = JSON.parse(await readFile(join(work.path, 'hello', 'bundle', 'config.json'), 'utf8')) as {
      process: { env: string[]; args: string[] };
    };
    assert.ok(config.process.env.includes('PATH=/bin:/usr/bin'));
    assert.ok(config.process.env.includes('SSL_CERT_FILE=/etc/ssl/certs/ca-bundle.crt'));
    assert.deepEqual(config.process.args, ['/bin/bash'], 'shell images start a shell');
  });

  it('arm64/hello is an arm64 image: its config says so, and its store paths are the arm64 package set', async () => {
    const layoutOf = async (image: string, dir: string) => {
      await skopeoCopy(origin.host, image, join(work.path, dir), 'pulled');
      const index = JSON.parse(await readFile(join(work.path, dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      const blob = async (digest: string) => JSON.parse(await readFile(join(work.path, dir, 'blobs', 'sha256', digest.slice(7)), 'utf8')) as unknown;
      const manifest = (await blob(index.manifests[0]!.digest)) as { config: { digest: string }; layers: { digest: string }[] };
      const config = (await blob(manifest.config.digest)) as { architecture: string; os: string };
      return { config, layers: manifest.layers.map((layer) => layer.digest) };
    };
    const arm = await layoutOf('arm64/hello:latest', 'arm64');
    assert.equal(arm.config.architecture, 'arm64');
    assert.equal(arm.config.os, 'linux');
    const amd = await layoutOf('hello:latest', 'amd64');
    assert.equal(amd.config.architecture, 'amd64');
    // The fixture records the system in every derivation ("cross-built" here): other store paths, other layers.
    assert.equal(arm.layers.filter((layer) => amd.layers.includes(layer)).length, 0, 'no layer is shared with the amd64 image');
    const rootfs = await umociUnpack(join(work.path, 'arm64'), 'pulled', join(work.path, 'arm64-bundle'));
    const busybox = (await readdir(join(rootfs, 'nix/store'))).find((name) => name.endsWith('-busybox-1.35.0'));
    assert.ok(busybox, 'the image holds busybox');
    assert.match(await readFile(join(rootfs, 'nix/store', busybox, 'share/doc/busybox/README'), 'utf8'), /busybox for aarch64-linux/);
  });

  it('pulls the same image by digest', async () => {
    const digest = await skopeoInspectDigest(origin.host, 'shell/hello:latest');
    assert.match(digest, /^sha256:[a-f0-9]{64}$/);
    const dir = join(work.path, 'by-digest');
    await skopeoCopy(origin.host, `shell/hello@${digest}`, join(dir, 'layout'));
    const rootfs = await umociUnpack(join(dir, 'layout'), 'pulled', join(dir, 'bundle'));
    assert.equal((await chrootRun(rootfs, ['/bin/hello'])).trim(), 'Hello, world!');
  });

  it('answers HEAD by tag then GET by digest as docker and containerd do', async () => {
    const head = await fetch(`${origin.url}/v2/shell/hello/manifests/latest`, { method: 'HEAD', headers: { Accept: DOCKER_ACCEPT } });
    assert.equal(head.status, 200);
    const digest = head.headers.get('docker-content-digest');
    assert.ok(digest, 'HEAD carries Docker-Content-Digest');
    assert.equal(head.headers.get('content-type'), 'application/vnd.docker.distribution.manifest.v2+json');
    const length = Number(head.headers.get('content-length'));
    const get = await fetch(`${origin.url}/v2/shell/hello/manifests/${digest}`, { headers: { Accept: DOCKER_ACCEPT } });
    assert.equal(get.status, 200);
    const bytes = Buffer.from(await get.arrayBuffer());
    assert.equal(bytes.length, length, 'Content-Length of HEAD matches the GET body');
    assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, digest);
    assert.equal(get.headers.get('docker-content-digest'), digest);
    assert.equal(get.headers.get('docker-distribution-api-version'), 'registry/2.0');
  });

  it('negotiates OCI or Docker manifests by Accept', async () => {
    const oci = await fetch(`${origin.url}/v2/shell/hello/manifests/latest`, { headers: { Accept: OCI_ACCEPT } });
    assert.equal(oci.headers.get('content-type'), 'application/vnd.oci.image.manifest.v1+json');
    const ociManifest = (await oci.json()) as { layers: { mediaType: string; digest: string }[]; config: { digest: string } };
    assert.ok(ociManifest.layers.every((layer) => layer.mediaType === 'application/vnd.oci.image.layer.v1.tar+gzip'));
    const docker = await fetch(`${origin.url}/v2/shell/hello/manifests/latest`, { headers: { Accept: DOCKER_ACCEPT } });
    assert.equal(docker.headers.get('content-type'), 'application/vnd.docker.distribution.manifest.v2+json');
    const dockerManifest = (await docker.json()) as { layers: { digest: string }[]; config: { digest: string } };
    assert.deepEqual(
      dockerManifest.layers.map((layer) => layer.digest),
      ociManifest.layers.map((layer) => layer.digest),
      'both flavours name the same layer blobs',
    );
    assert.equal(dockerManifest.config.digest, ociManifest.config.digest);
    const none = await fetch(`${origin.url}/v2/shell/hello/manifests/latest`);
    assert.equal(none.headers.get('content-type'), 'application/vnd.docker.distribution.manifest.v2+json');
    for (const response of [oci, docker, none]) {
      assert.equal(response.headers.get('vary'), 'Accept', 'a negotiated answer says so to caches');
      assert.equal(response.headers.get('cache-control'), 'private, no-cache', 'and no shared cache may keep it');
    }
  });

  it('serves blobs with HEAD, ranges and BLOB_UNKNOWN', async () => {
    const manifest = (await (await fetch(`${origin.url}/v2/shell/hello/manifests/latest`, { headers: { Accept: OCI_ACCEPT } })).json()) as {
      layers: { digest: string; size: number }[];
    };
    const layer = manifest.layers.at(-1)!;
    const head = await fetch(`${origin.url}/v2/shell/hello/blobs/${layer.digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers.get('content-length')), layer.size);
    assert.equal(head.headers.get('docker-content-digest'), layer.digest);
    const ranged = await fetch(`${origin.url}/v2/shell/hello/blobs/${layer.digest}`, { headers: { Range: 'bytes=0-9' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 0-9/${layer.size}`);
    const first = Buffer.from(await ranged.arrayBuffer());
    assert.deepEqual([...first.subarray(0, 2)], [0x1f, 0x8b], 'layers are gzip');
    const whole = Buffer.from(await (await fetch(`${origin.url}/v2/shell/hello/blobs/${layer.digest}?ns=docker.io`)).arrayBuffer());
    assert.equal(`sha256:${createHash('sha256').update(whole).digest('hex')}`, layer.digest, 'query strings are ignored');
    const missing = await fetch(`${origin.url}/v2/shell/hello/blobs/sha256:${'0'.repeat(64)}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('content-type'), 'application/json');
    assert.equal(((await missing.json()) as { errors: { code: string }[] }).errors[0]?.code, 'BLOB_UNKNOWN');
    const beyond = await fetch(`${origin.url}/v2/shell/hello/blobs/${layer.digest}`, { headers: { Range: `bytes=${layer.size}-` } });
    assert.equal(beyond.status, 416);
    // A resumed download whose validator is not this blob's gets the whole blob (RFC 9110 If-Range).
    const etag = head.headers.get('etag') ?? '';
    const resumed = await fetch(`${origin.url}/v2/shell/hello/blobs/${layer.digest}`, { headers: { Range: 'bytes=0-9', 'If-Range': etag } });
    assert.equal(resumed.status, 206);
    const stale = await fetch(`${origin.url}/v2/shell/hello/blobs/${layer.digest}`, { headers: { Range: 'bytes=0-9', 'If-Range': '"sha256:other"' } });
    assert.equal(stale.status, 200);
    assert.equal(Buffer.from(await stale.arrayBuffer()).length, layer.size);
  });

  it('answers unknown packages with 404 MANIFEST_UNKNOWN naming each, with close matches', async () => {
    const response = await fetch(`${origin.url}/v2/shell/helo/nosuchpackage/manifests/latest`);
    assert.equal(response.status, 404);
    const body = (await response.json()) as { errors: { code: string; message: string }[] };
    assert.equal(body.errors[0]?.code, 'MANIFEST_UNKNOWN');
    assert.match(body.errors[0]!.message, /helo/);
    assert.match(body.errors[0]!.message, /did you mean hello/);
    assert.match(body.errors[0]!.message, /nosuchpackage/);
  });

  it('resolves attribute paths case-insensitively and reports ambiguity', async () => {
    const nested = await fetch(`${origin.url}/v2/python3packages.requests/manifests/latest`, { method: 'HEAD' });
    assert.equal(nested.status, 200);
    const ambiguous = await fetch(`${origin.url}/v2/samename/manifests/latest`);
    assert.equal(ambiguous.status, 404);
    const message = ((await ambiguous.json()) as { errors: { message: string }[] }).errors[0]!.message;
    assert.match(message, /SameName/);
    assert.match(message, /sameName/);
    const notPackage = await fetch(`${origin.url}/v2/python3packages/manifests/latest`);
    assert.equal(notPackage.status, 404);
  });

  it('rejects bad names with 400 NAME_INVALID and other methods with 405 UNSUPPORTED', async () => {
    for (const path of ['/v2/Hello/manifests/latest', '/v2/he..llo/manifests/latest', `/v2/${'a'.repeat(256)}/manifests/latest`]) {
      const response = await fetch(`${origin.url}${path}`);
      assert.equal(response.status, 400, path);
      assert.equal(((await response.json()) as { errors: { code: string }[] }).errors[0]?.code, 'NAME_INVALID');
    }
    const post = await fetch(`${origin.url}/v2/hello/manifests/latest`, { method: 'PUT', body: '{}' });
    assert.equal(post.status, 405);
    assert.equal(((await post.json()) as { errors: { code: string }[] }).errors[0]?.code, 'UNSUPPORTED');
    const root = await fetch(`${origin.url}/v2/`);
    assert.equal(root.status, 200);
    assert.deepEqual(await root.json(), {});
    assert.equal(root.headers.get('docker-distribution-api-version'), 'registry/2.0');
  });

  it('downloads a layer shared by two images once', async () => {
    const layout = join(work.path, 'shared-layout');
    const before = origin.logs.length;
    await skopeoCopy(origin.host, 'git:latest', layout, 'git');
    await skopeoCopy(origin.host, 'curl:latest', layout, 'curl');
    const blobGets = origin.logs
      .slice(before)
      .filter((line) => line.msg === 'request' && line['method'] === 'GET' && String(line['path']).includes('/blobs/'))
      .map((line) => String(line['path']).split('/blobs/')[1]);
    const manifestOf = async (name: string) =>
      (await (await fetch(`${origin.url}/v2/${name}/manifests/latest`, { headers: { Accept: OCI_ACCEPT } })).json()) as {
        config: { digest: string };
        layers: { digest: string }[];
      };
    const [git, curl] = [await manifestOf('git'), await manifestOf('curl')];
    const curlLayers = new Set(curl.layers.map((layer) => layer.digest));
    const shared = git.layers.map((layer) => layer.digest).filter((digest) => curlLayers.has(digest));
    assert.ok(shared.length >= 2, `git and curl share layers (${shared.length})`);
    const distinct = new Set([git.config.digest, curl.config.digest, ...git.layers.map((l) => l.digest), ...curlLayers]);
    assert.equal(blobGets.length, distinct.size, 'every blob is downloaded exactly once');
    for (const digest of shared) assert.equal(blobGets.filter((got) => got === digest).length, 1, `${digest} once`);
  });

  it('a package that fails to build is the request\'s failure: 400 MANIFEST_UNKNOWN naming it, never the build log, remembered', async () => {
    const realisesBefore = origin.steps('realise').length;
    const response = await fetch(`${origin.url}/v2/shell/broken/manifests/latest`);
    assert.equal(response.status, 400);
    const text = await response.text();
    const error = (JSON.parse(text) as { errors: { code: string; message: string }[] }).errors[0];
    assert.equal(error?.code, 'MANIFEST_UNKNOWN');
    assert.match(error?.message ?? '', /^broken: nix failed to build broken-1\.0 \(exit code 1; build [0-9a-f]{8}\)$/);
    assert.match(response.statusText, /^broken: nix failed to build broken-1\.0/, 'the status line says it too (containerd shows nothing else)');
    assert.doesNotMatch(text, /SECRET-INTERNAL-DETAIL|hunter2/);
    const build = /build ([0-9a-f]{8})/.exec(error?.message ?? '')?.[1];
    assert.ok(origin.logs.some((line) => line['build'] === build && String(line['stderr'] ?? '').includes('SECRET-INTERNAL-DETAIL')), 'the build log is in the origin\'s log, under the build id');

    const again = await fetch(`${origin.url}/v2/shell/broken/manifests/latest`, { method: 'HEAD' });
    assert.equal(again.status, 400);
    await origin.waitForLog((line) => line.step === 'refusal-remembered');
    assert.equal(origin.steps('realise').length - realisesBefore, 1, 'a second pull within the remembered window runs no nix');
  });

  it('packages their package set refuses (unfree, removed) are 400 with the package set\'s own words, no paths', async () => {
    for (const [name, words] of [
      ['unfreething', /unfreething: Package ‘unfreething-1\.0’ has an unfree license \(‘unfree’\), refusing to evaluate/],
      ['oldthing', /oldthing: 'oldthing' has been removed from nixpkgs, as it was unmaintained; use 'hello' instead/],
    ] as const) {
      const response = await fetch(`${origin.url}/v2/${name}/manifests/latest`);
      assert.equal(response.status, 400, name);
      const message = ((await response.json()) as { errors: { message: string }[] }).errors[0]?.message ?? '';
      assert.match(message, words);
      assert.doesNotMatch(message, /\/nix\/store|\/work\/|default\.nix/, 'no path of the package set');
    }
    const unknown = await fetch(`${origin.url}/v2/helo/manifests/latest`);
    assert.equal(unknown.status, 404, 'an unknown name stays 404, with its suggestion');
    assert.match(((await unknown.json()) as { errors: { message: string }[] }).errors[0]?.message ?? '', /did you mean hello/);
  });
});
