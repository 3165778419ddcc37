/**
 * End to end: how builds behave — one nix run for concurrent pulls, caches that survive a
 * restart, bit-identical output, timeouts that kill nix, back-pressure, and configuration errors.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { startOrigin, originStartFailure, FIXTURE_PKGS } from '../../local-stack/origin-process.ts';
import { chrootRun, fixtureRepository, processesRunning, pullAndUnpack, skopeoCopy, tempDir } from './clients.ts';

/** Every blob in a filesystem storage, by name, with the sha256 of its bytes. */
async function blobHashes(storagePath: string): Promise<Map<string, string>> {
  const dir = join(storagePath, 'layers');
  const hashes = new Map<string, string>();
  for (const name of (await readdir(dir)).sort()) {
    hashes.set(name, createHash('sha256').update(await readFile(join(dir, name))).digest('hex'));
  }
  return hashes;
}

/** The first bytes of every zstd frame. */
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

describe('builds', () => {
  it('runs nix once for 10 concurrent cold pulls, and builds no layer again after a restart', async () => {
    const storage = await tempDir('storage');
    const work = await tempDir('work');
    try {
      const first = await startOrigin({ NIXERY_PKGS_PATH: FIXTURE_PKGS, STORAGE_PATH: storage.path });
      try {
        await Promise.all([
          ...Array.from({ length: 10 }, (_, i) => skopeoCopy(first.host, 'curl/jq:latest', join(work.path, `pull-${i}`))),
          // containerd and docker resolve with HEAD first: a cold HEAD shares the same build.
          fetch(`${first.url}/v2/jq/curl/manifests/latest`, { method: 'HEAD' }).then((response) => assert.equal(response.status, 200)),
        ]);
        assert.equal(first.steps('evaluate').length, 1, 'one evaluation for ten pulls and a HEAD');
        assert.equal(first.steps('realise').length, 1, 'one nix build for ten pulls');
        assert.ok(first.steps('layer').length > 0, 'the first pull built layers');
      } finally {
        await first.stop();
      }
      const second = await startOrigin({ NIXERY_PKGS_PATH: FIXTURE_PKGS, STORAGE_PATH: storage.path });
      try {
        await skopeoCopy(second.host, 'curl/jq:latest', join(work.path, 'after-restart'));
        assert.equal(second.steps('layer').length, 0, 'no layer built after the restart');
        assert.equal(second.steps('realise').length, 0, 'no nix build after the restart');
        assert.equal(second.steps('customisation-layer').length, 0);
      } finally {
        await second.stop();
      }
    } finally {
      await storage.cleanup();
      await work.cleanup();
    }
  });

  it('gives bit-identical blobs for two builds of one image in fresh storage, gzip and zstd', async () => {
    const a = await tempDir('storage-a');
    const b = await tempDir('storage-b');
    const digests: string[][] = [];
    try {
      for (const storage of [a, b]) {
        const origin = await startOrigin({ NIXERY_PKGS_PATH: FIXTURE_PKGS, STORAGE_PATH: storage.path });
        try {
          const answered: string[] = [];
          for (const name of ['shell/git/htop', 'zstd/shell/git/htop']) {
            const response = await fetch(`${origin.url}/v2/${name}/manifests/latest`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
            assert.equal(response.status, 200);
            answered.push(response.headers.get('docker-content-digest') ?? '');
          }
          digests.push(answered);
        } finally {
          await origin.stop();
        }
      }
      assert.deepEqual(digests[1], digests[0], 'the same manifest digests, gzip and zstd');
      const blobsA = await blobHashes(a.path);
      const blobsB = await blobHashes(b.path);
      assert.ok(blobsA.size > 6);
      const heads = await Promise.all([...blobsA.keys()].map(async (name) => (await readFile(join(a.path, 'layers', name))).subarray(0, 4)));
      const zstdLayers = heads.filter((bytes) => bytes.equals(ZSTD_MAGIC));
      assert.ok(zstdLayers.length >= 3, `zstd layers among the blobs (${zstdLayers.length})`);
      assert.deepEqual([...blobsA.keys()], [...blobsB.keys()], 'the same blobs, by digest');
      for (const [name, hash] of blobsA) assert.equal(hash, name, `blob ${name} holds what its name says`);
    } finally {
      await a.cleanup();
      await b.cleanup();
    }
  });

  it('kills a build that exceeds NIX_TIMEOUT, and refuses builds past the queue bound with 429', async () => {
    const storage = await tempDir('storage');
    const origin = await startOrigin({
      NIXERY_PKGS_PATH: FIXTURE_PKGS,
      STORAGE_PATH: storage.path,
      NIX_TIMEOUT: '4',
      MAX_CONCURRENT_BUILDS: '1',
      MAX_QUEUED_BUILDS: '0',
    });
    try {
      const started = Date.now();
      const slow = fetch(`${origin.url}/v2/slow/manifests/latest`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const refused = await fetch(`${origin.url}/v2/hello/manifests/latest`);
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers.get('retry-after')) > 0, 'Retry-After tells when to come back');
      assert.equal(((await refused.json()) as { errors: { code: string }[] }).errors[0]?.code, 'TOOMANYREQUESTS');

      const response = await slow;
      const elapsed = Date.now() - started;
      assert.equal(response.status, 503, 'a timeout is the server\'s failure, worth retrying');
      assert.ok(Number(response.headers.get('retry-after')) > 0, 'Retry-After');
      assert.match(await response.text(), /NIX_TIMEOUT/);
      assert.ok(elapsed < 15_000, `the timeout ended the build in ${elapsed} ms`);
      await new Promise((resolve) => setTimeout(resolve, 4000)); // SIGTERM grace, then SIGKILL
      assert.deepEqual(await processesRunning('sleep 1000'), [], 'no build process outlives the timeout');

      const after = await fetch(`${origin.url}/v2/hello/manifests/latest`, { method: 'HEAD' });
      assert.equal(after.status, 200, 'the slot is free again');
    } finally {
      await origin.stop();
      await storage.cleanup();
    }
  });

  it('answers an image already built at once while every build slot is busy; only a new build gets 429', async () => {
    const storage = await tempDir('storage');
    const origin = await startOrigin({ NIXERY_PKGS_PATH: FIXTURE_PKGS, STORAGE_PATH: storage.path, NIX_TIMEOUT: '8', MAX_CONCURRENT_BUILDS: '1', MAX_QUEUED_BUILDS: '0' });
    try {
      assert.equal((await fetch(`${origin.url}/v2/hello/manifests/latest`, { method: 'HEAD' })).status, 200, 'hello is built');
      const slow = fetch(`${origin.url}/v2/slow/manifests/latest`); // holds the one build slot
      const deadline = Date.now() + 20_000;
      while ((await processesRunning('sleep 1000')).length === 0) {
        assert.ok(Date.now() < deadline, 'the slow build started');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const started = performance.now();
      const cached = await fetch(`${origin.url}/v2/hello/manifests/latest`, { method: 'HEAD' });
      const elapsed = performance.now() - started;
      assert.equal(cached.status, 200);
      assert.ok(elapsed < 1000, `the cached image answered in ${Math.round(elapsed)} ms while the slot was busy`);
      const cold = await fetch(`${origin.url}/v2/jq/manifests/latest`, { method: 'HEAD' });
      assert.equal(cold.status, 429, 'a new build past the bound is refused');
      assert.equal((await slow).status, 503, 'the slow build ends at NIX_TIMEOUT');
    } finally {
      await origin.stop();
      await storage.cleanup();
    }
  });

  it('leaves no nix process behind when the origin is SIGKILLed mid-build, and a restart builds that image at once', async () => {
    const storage = await tempDir('storage');
    const env = { NIXERY_PKGS_PATH: FIXTURE_PKGS, STORAGE_PATH: storage.path, NIX_TIMEOUT: '60' };
    const first = await startOrigin(env);
    void fetch(`${first.url}/v2/slow/manifests/latest`).catch(() => undefined);
    const waitFor = async (what: string, check: () => Promise<boolean>, ms: number): Promise<number> => {
      const started = Date.now();
      while (!(await check())) {
        assert.ok(Date.now() - started < ms, what);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return Date.now() - started;
    };
    try {
      await waitFor('the slow build started', async () => (await processesRunning('sleep 1000')).length > 0, 20_000);
      await first.stop('SIGKILL'); // a crash: no shutdown code runs
      await waitFor('nix and its builder stopped after the origin died', async () => (await processesRunning('sleep 1000')).length === 0, 10_000);
      const second = await startOrigin({ ...env, NIX_TIMEOUT: '5' });
      try {
        const pending = fetch(`${second.url}/v2/slow/manifests/latest`);
        const wait = await waitFor('the restarted origin started the build', async () => (await processesRunning('sleep 1000')).length > 0, 10_000);
        assert.ok(wait < 5000, `the build started ${wait} ms after the pull, not after a lock held by an orphan`);
        assert.equal((await pending).status, 503, 'and ends at its own NIX_TIMEOUT');
      } finally {
        await second.stop();
      }
    } finally {
      await first.stop();
      await storage.cleanup();
    }
  });

  it('answers 503 with Retry-After while the storage disk is full, and builds again once there is room', async () => {
    const mount = await tempDir('full-disk');
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mount.path]);
    const origin = await startOrigin({ NIXERY_PKGS_PATH: FIXTURE_PKGS, STORAGE_PATH: join(mount.path, 'storage') });
    try {
      assert.equal((await fetch(`${origin.url}/v2/hello/manifests/latest`, { method: 'HEAD' })).status, 200);
      // Fill what is left (dd stops at ENOSPC).
      await execa('dd', ['if=/dev/zero', `of=${join(mount.path, 'filler')}`, 'bs=1M'], { reject: false });
      const full = await fetch(`${origin.url}/v2/jq/manifests/latest`);
      assert.equal(full.status, 503);
      assert.equal(((await full.json()) as { errors: { code: string }[] }).errors[0]?.code, 'UNAVAILABLE');
      assert.ok(Number(full.headers.get('retry-after')) > 0, 'Retry-After');
      await rm(join(mount.path, 'filler'));
      assert.equal((await fetch(`${origin.url}/v2/jq/manifests/latest`, { method: 'HEAD' })).status, 200, 'room again: it builds');
    } finally {
      await origin.stop();
      await execa('umount', [mount.path]);
      await mount.cleanup();
    }
  });

  it('refuses to start without exactly one package source, or without storage, with a clear message', async () => {
    const none = await originStartFailure({ STORAGE_PATH: '/tmp/x' });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /NIXERY_PKGS_PATH/);
    assert.doesNotMatch(none.stderr, /\n\s+at /, 'no stack trace');
    const two = await originStartFailure({ STORAGE_PATH: '/tmp/x', NIXERY_PKGS_PATH: FIXTURE_PKGS, NIXERY_CHANNEL: 'nixos-unstable' });
    assert.equal(two.code, 1);
    assert.match(two.stderr, /exactly one package source/);
    const noStorage = await originStartFailure({ NIXERY_PKGS_PATH: FIXTURE_PKGS });
    assert.equal(noStorage.code, 1);
    assert.match(noStorage.stderr, /STORAGE_PATH/);
    const badTimeout = await originStartFailure({ NIXERY_PKGS_PATH: FIXTURE_PKGS, STORAGE_PATH: '/tmp/x', NIX_TIMEOUT: 'soon' });
    assert.equal(badTimeout.code, 1);
    assert.match(badTimeout.stderr, /NIX_TIMEOUT/);
  });

  it('reads NIX_POPULARITY_URL at start-up from a file and over HTTP, and refuses one it cannot read', async () => {
    const dir = await tempDir('popularity');
    const server = createServer((_request, response) => response.writeHead(200).end(JSON.stringify({ 'glibc-2.38-27': 5000, 'zlib-1.3': 800 })));
    try {
      await writeFile(join(dir.path, 'popularity.json'), JSON.stringify({ 'glibc-2.38-27': 5000 }));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const overHttp = `http://127.0.0.1:${(server.address() as AddressInfo).port}/popularity.json`;
      for (const [location, entries] of [[join(dir.path, 'popularity.json'), 1], [overHttp, 2]] as const) {
        const origin = await startOrigin({ NIXERY_PKGS_PATH: FIXTURE_PKGS, STORAGE_PATH: join(dir.path, 'storage'), NIX_POPULARITY_URL: location });
        try {
          const listening = origin.logs.find((line) => String(line.msg).includes('listening'));
          assert.equal(listening?.['popularityEntries'], entries, location);
        } finally {
          await origin.stop();
        }
      }
      const missing = await originStartFailure({ NIXERY_PKGS_PATH: FIXTURE_PKGS, STORAGE_PATH: '/tmp/x', NIX_POPULARITY_URL: join(dir.path, 'missing.json') });
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /NIX_POPULARITY_URL \(.*missing\.json\) could not be loaded/);
    } finally {
      server.close();
      await dir.cleanup();
    }
  });

  it('refuses to start when nix cannot build on this machine, naming the problem and the fix', async () => {
    const valid = { NIXERY_PKGS_PATH: FIXTURE_PKGS, STORAGE_PATH: '/tmp/x' };
    const noGroup = await originStartFailure({ ...valid, NIX_CONFIG: 'build-users-group = nixedge-no-such-group' });
    assert.equal(noGroup.code, 1);
    assert.match(noGroup.stderr, /build users group "nixedge-no-such-group" \(build-users-group in nix\.conf\) does not exist/);
    assert.match(noGroup.stderr, /sudo bash scripts\/setup/, 'names the fix');
    assert.doesNotMatch(noGroup.stderr, /\n\s+at /, 'no stack trace');

    // A store nix cannot reach: a daemon socket that does not exist.
    const noStore = await originStartFailure({ ...valid, NIX_REMOTE: 'unix:///nonexistent/nixedge-daemon-socket' });
    assert.equal(noStore.code, 1);
    assert.match(noStore.stderr, /Nix cannot write to its store: cannot connect to socket at '\/nonexistent\/nixedge-daemon-socket'/);

    const noNix = await originStartFailure({ ...valid, PATH: '/nonexistent' });
    assert.equal(noNix.code, 1);
    assert.match(noNix.stderr, /Nix is not installed: nix-store was not found on PATH/);
  });
});

describe('a git package source (NIXERY_PKGS_REPO)', () => {
  it('builds the default branch for latest, branches and tags by name, and commits by hash', async () => {
    const repo = await fixtureRepository(FIXTURE_PKGS);
    const { git } = repo;
    const storage = await tempDir('storage');
    const work = await tempDir('work');
    try {
      await git('tag', 'v1');
      await git('checkout', '-qb', 'feature');
      const defaultNix = join(repo.path, 'default.nix');
      const source = await readFile(defaultNix, 'utf8');
      assert.ok(source.includes('Hello, world!'));
      await execa('sed', ['-i', 's/Hello, world!/Hello from a branch!/', defaultNix]);
      await git('commit', '-qam', 'change the greeting');
      const featureCommit = await git('rev-parse', 'HEAD');
      await git('checkout', '-q', 'main');

      const origin = await startOrigin({ NIXERY_PKGS_REPO: repo.url, STORAGE_PATH: storage.path, NIXEDGE_CACHE_DIR: join(work.path, 'cache') });
      try {
        const digestOf = async (tag: string): Promise<string | null> => {
          const response = await fetch(`${origin.url}/v2/hello/manifests/${tag}`, { method: 'HEAD' });
          assert.equal(response.status, 200, `hello:${tag}: ${await response.clone().text()} (origin log: ${origin.logFile})`);
          return response.headers.get('docker-content-digest');
        };
        const latest = await digestOf('latest');
        assert.equal(await digestOf('v1'), latest, 'the tag v1 is the default branch commit');
        assert.equal(await digestOf('main'), latest);
        const feature = await digestOf('feature');
        assert.notEqual(feature, latest, 'the branch builds its own package set');
        assert.equal(await digestOf(featureCommit), feature, 'a commit hash selects that commit');
        const pinned = await fetch(`${origin.url}/v2/hello/manifests/${featureCommit}`, { method: 'HEAD' });
        assert.equal(pinned.headers.get('cache-control'), 'private, max-age=31536000, immutable', 'a commit tag never changes, and is negotiated');
        assert.equal(pinned.headers.get('vary'), 'Accept');

        const rootfs = await pullAndUnpack(origin.host, `hello:${featureCommit}`, join(work.path, 'feature'));
        assert.equal((await chrootRun(rootfs, ['/bin/hello'])).trim(), 'Hello from a branch!');

        const missing = await fetch(`${origin.url}/v2/hello/manifests/no-such-branch`);
        assert.equal(missing.status, 404);
        assert.equal(((await missing.json()) as { errors: { code: string }[] }).errors[0]?.code, 'MANIFEST_UNKNOWN');
      } finally {
        await origin.stop();
      }
    } finally {
      await repo.cleanup();
      await storage.cleanup();
      await work.cleanup();
    }
  });
});

describe('a channel package source (NIXERY_CHANNEL)', () => {
  it('resolves the channel to a commit before nix runs: an image built already answers without nix, and a moved channel builds once', async () => {
    const work = await tempDir('channel');
    // A stand-in for channels.nixos.org (`/<channel>/git-revision`) and GitHub's archive
    // (`/archive/<commit>.tar.gz`, one top-level directory as GitHub makes them), named as such.
    const tarballs = new Map<string, Buffer>();
    const makeTarball = async (commit: string, greeting: string): Promise<void> => {
      const dir = join(work.path, `nixpkgs-${commit}`);
      await execa('cp', ['-r', FIXTURE_PKGS, dir]);
      await execa('sed', ['-i', `s/Hello, world!/${greeting}/`, join(dir, 'default.nix')]);
      const { stdout } = await execa('tar', ['-czf', '-', '-C', work.path, `nixpkgs-${commit}`], { encoding: 'buffer' });
      tarballs.set(commit, Buffer.from(stdout));
    };
    const [first, second] = ['1'.repeat(40), '2'.repeat(40)];
    await makeTarball(first, 'Hello from the channel!');
    await makeTarball(second, 'Hello from the moved channel!');
    let channelAt = first;
    const lookups: string[] = [];
    const server = createServer((request, response) => {
      const url = request.url ?? '';
      lookups.push(url);
      const tarball = /^\/archive\/([0-9a-f]{40})\.tar\.gz$/.exec(url);
      if (url === '/nixos-test/git-revision') response.writeHead(200).end(`${channelAt}\n`);
      else if (tarball && tarballs.has(tarball[1]!)) response.writeHead(200, { 'Content-Type': 'application/gzip' }).end(tarballs.get(tarball[1]!));
      else response.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const origin = await startOrigin({
      NIXERY_CHANNEL: 'nixos-test',
      NIXEDGE_CHANNELS_URL: base,
      NIXEDGE_NIXPKGS_ARCHIVE_URL: `${base}/archive`,
      STORAGE_PATH: join(work.path, 'storage'),
    });
    const digestOfLatest = async (): Promise<string | null> => {
      const response = await fetch(`${origin.url}/v2/hello/manifests/latest`, { method: 'HEAD' });
      assert.equal(response.status, 200, `hello:latest: (origin log: ${origin.logFile})`);
      return response.headers.get('docker-content-digest');
    };
    try {
      const built = await digestOfLatest();
      assert.equal(origin.steps('evaluate').length, 1);
      assert.equal(await digestOfLatest(), built);
      assert.equal(origin.steps('evaluate').length, 1, 'a pull of the image built already runs no nix');
      assert.ok(lookups.filter((url) => url.endsWith('/git-revision')).length >= 2, 'the channel was asked each time');

      channelAt = second; // the channel moves on
      const moved = await digestOfLatest();
      assert.notEqual(moved, built);
      assert.equal(await digestOfLatest(), moved);
      assert.equal(origin.steps('evaluate').length, 2, 'the moved channel was evaluated once');
      const rootfs = await pullAndUnpack(origin.host, 'hello:latest', join(work.path, 'moved'));
      assert.equal((await chrootRun(rootfs, ['/bin/hello'])).trim(), 'Hello from the moved channel!');
    } finally {
      await origin.stop();
      server.close();
      await work.cleanup();
    }
  });
});
