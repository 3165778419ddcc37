import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError, loadConfig, loadGcConfig } from './config.ts';
import { NIXPKGS_LOCATIONS } from './nix/source.ts';

const BASE = { NIXERY_PKGS_PATH: '/srv/pkgs', STORAGE_PATH: '/var/lib/nixedge' };

/** Asserts loadConfig(env) throws a ConfigError whose message mentions every one of `names`. */
function assertConfigError(env: Record<string, string>, names: readonly string[]): void {
  assert.throws(
    () => loadConfig(env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(env)}`);
      for (const name of names) assert.match(error.message, new RegExp(name), `message names ${name}`);
      return true;
    },
  );
}

test('defaults with only a package source and a storage path', () => {
  const config = loadConfig(BASE);
  assert.equal(config.port, 8080);
  assert.equal(config.host, '0.0.0.0');
  assert.deepEqual(config.source, { kind: 'path', path: '/srv/pkgs' });
  assert.deepEqual(config.storage, { backend: 'filesystem', path: '/var/lib/nixedge' });
  assert.equal(config.nixTimeoutSeconds, 60);
  assert.equal(config.popularityUrl, undefined);
  assert.equal(config.layerBudget, 94);
  assert.equal(config.gzipLevel, 6);
  assert.equal(config.layerCompression, 'gzip');
  assert.equal(config.zstdLevel, 3);
  assert.ok(config.layerConcurrency >= 2);
  assert.equal(config.maxConcurrentBuilds, 2);
  assert.equal(config.maxQueuedBuilds, 32);
  assert.equal(config.logLevel, 'info');
});

test('explicit values are read', () => {
  const config = loadConfig({
    ...BASE,
    PORT: '9000',
    HOST: '127.0.0.1',
    NIX_TIMEOUT: '300',
    NIX_POPULARITY_URL: 'https://example.com/popularity.json',
    LAYER_BUDGET: '50',
    GZIP_LEVEL: '9',
    LAYER_COMPRESSION: 'zstd',
    ZSTD_LEVEL: '19',
    LAYER_CONCURRENCY: '3',
    MAX_CONCURRENT_BUILDS: '4',
    MAX_QUEUED_BUILDS: '0',
    LOG_LEVEL: 'debug',
  });
  assert.deepEqual(
    [config.port, config.host, config.nixTimeoutSeconds, config.popularityUrl, config.layerBudget, config.gzipLevel],
    [9000, '127.0.0.1', 300, 'https://example.com/popularity.json', 50, 9],
  );
  assert.deepEqual(
    [config.layerConcurrency, config.maxConcurrentBuilds, config.maxQueuedBuilds, config.logLevel],
    [3, 4, 0, 'debug'],
  );
  assert.deepEqual([config.layerCompression, config.zstdLevel], ['zstd', 19]);
});

test('empty numeric variables mean their defaults (PORT= is not port 0)', () => {
  const config = loadConfig({ ...BASE, PORT: '', NIX_TIMEOUT: ' ', LAYER_BUDGET: '' });
  assert.deepEqual([config.port, config.nixTimeoutSeconds, config.layerBudget], [8080, 60, 94]);
  assert.equal(loadConfig({ ...BASE, PORT: ' 9000 ' }).port, 9000);
});

test('each package source alone', () => {
  const cases: [env: Record<string, string>, source: unknown][] = [
    [{ NIXERY_PKGS_PATH: '/srv/pkgs' }, { kind: 'path', path: '/srv/pkgs' }],
    [{ NIXERY_PKGS_REPO: 'https://git.example.com/pkgs.git' }, { kind: 'git', url: 'https://git.example.com/pkgs.git' }],
    [{ NIXERY_CHANNEL: 'nixos-unstable' }, { kind: 'channel', channel: 'nixos-unstable', nixpkgs: NIXPKGS_LOCATIONS }],
    [{ NIXERY_CHANNEL: ' nixos-24.05 ', NIXERY_PKGS_PATH: '  ' }, { kind: 'channel', channel: 'nixos-24.05', nixpkgs: NIXPKGS_LOCATIONS }],
  ];
  for (const [env, source] of cases) {
    assert.deepEqual(loadConfig({ STORAGE_PATH: '/data', ...env }).source, source);
  }
});

test('no package source, or two, is a ConfigError naming the variables', () => {
  const sourceVars = ['NIXERY_PKGS_PATH', 'NIXERY_PKGS_REPO', 'NIXERY_CHANNEL'];
  assertConfigError({ STORAGE_PATH: '/data' }, sourceVars);
  assertConfigError({ STORAGE_PATH: '/data', NIXERY_PKGS_PATH: '/srv/pkgs', NIXERY_CHANNEL: 'nixos-unstable' }, sourceVars);
  assertConfigError(
    { STORAGE_PATH: '/data', NIXERY_PKGS_REPO: 'https://git.example.com/pkgs.git', NIXERY_CHANNEL: 'nixos-unstable' },
    sourceVars,
  );
});

test('a missing STORAGE_PATH is a ConfigError naming it', () => {
  assertConfigError({ NIXERY_PKGS_PATH: '/srv/pkgs' }, ['STORAGE_PATH']);
  assertConfigError({ NIXERY_PKGS_PATH: '/srv/pkgs', STORAGE_PATH: ' ' }, ['STORAGE_PATH']);
});

test('invalid values are a ConfigError naming the variable', () => {
  const cases: [name: string, value: string][] = [
    ['NIX_TIMEOUT', 'abc'],
    ['NIX_TIMEOUT', '0'],
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['PORT', '0x50'],
    ['PORT', '1e3'],
    ['GZIP_LEVEL', '10'],
    ['LAYER_COMPRESSION', 'brotli'],
    ['LAYER_COMPRESSION', 'ZSTD'],
    ['ZSTD_LEVEL', '0'],
    ['ZSTD_LEVEL', '20'],
    ['MAX_CONCURRENT_BUILDS', '-1'],
    ['LOG_LEVEL', 'verbose'],
    ['NIXERY_STORAGE_BACKEND', 'azure'],
  ];
  for (const [name, value] of cases) {
    assertConfigError({ ...BASE, [name]: value }, [name]);
  }
});

test('relative paths are resolved to absolute ones', () => {
  const config = loadConfig({ NIXERY_PKGS_PATH: 'test/fixtures/pkgs', STORAGE_PATH: './data' });
  assert.deepEqual(config.source, { kind: 'path', path: resolve('test/fixtures/pkgs') });
  assert.deepEqual(config.storage, { backend: 'filesystem', path: resolve('data') });
  assert.ok(config.storage.backend === 'filesystem' && isAbsolute(config.storage.path));
});

test('the s3 backend needs a bucket and keys, and defaults to path style in region auto', () => {
  const source = { NIXERY_PKGS_PATH: 'test/fixtures/pkgs' };
  assertConfigError({ ...source, NIXERY_STORAGE_BACKEND: 's3', S3_BUCKET: 'b' }, ['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']);
  assertConfigError({ ...source, NIXERY_STORAGE_BACKEND: 'gcsx' }, ['NIXERY_STORAGE_BACKEND']);
  const config = loadConfig({
    ...source,
    NIXERY_STORAGE_BACKEND: 's3',
    S3_ENDPOINT: 'http://127.0.0.1:8787/cdn-cgi/local/r2/s3/',
    S3_BUCKET: 'nixedge-blobs',
    S3_ACCESS_KEY_ID: 'id',
    S3_SECRET_ACCESS_KEY: 'secret',
  });
  assert.deepEqual(config.storage, {
    backend: 's3',
    endpoint: 'http://127.0.0.1:8787/cdn-cgi/local/r2/s3',
    bucket: 'nixedge-blobs',
    region: 'auto',
    accessKeyId: 'id',
    secretAccessKey: 'secret',
    forcePathStyle: true,
    idleTimeoutMs: 30_000,
  });
  const patient = loadConfig({ ...source, NIXERY_STORAGE_BACKEND: 's3', S3_BUCKET: 'b', S3_ACCESS_KEY_ID: 'i', S3_SECRET_ACCESS_KEY: 's', STORAGE_TIMEOUT_SECONDS: '90' });
  assert.equal(patient.storage.backend === 's3' && patient.storage.idleTimeoutMs, 90_000, 'STORAGE_TIMEOUT_SECONDS');
  assertConfigError({ ...source, STORAGE_PATH: '/x', STORAGE_TIMEOUT_SECONDS: '0' }, ['STORAGE_TIMEOUT_SECONDS']);
});

test("the gcs backend takes Nixery's GCS_BUCKET and GOOGLE_APPLICATION_CREDENTIALS, both but the bucket optional", () => {
  const source = { NIXERY_PKGS_PATH: 'test/fixtures/pkgs' };
  assertConfigError({ ...source, NIXERY_STORAGE_BACKEND: 'gcs' }, ['GCS_BUCKET', 'NIXERY_STORAGE_BACKEND=gcs']);
  assertConfigError({ ...source, NIXERY_STORAGE_BACKEND: 'gcs', GCS_BUCKET: '  ' }, ['GCS_BUCKET']);
  assertConfigError({ ...source, NIXERY_STORAGE_BACKEND: 'gcs', GCS_BUCKET: 'b', GCS_ENDPOINT: 'localhost:9199' }, ['GCS_ENDPOINT']);
  // Nixery's environment as it is: default credentials, no endpoint.
  assert.deepEqual(loadConfig({ ...source, NIXERY_STORAGE_BACKEND: 'gcs', GCS_BUCKET: 'nixery-layers' }).storage, {
    backend: 'gcs',
    bucket: 'nixery-layers',
    projectId: undefined,
    keyFilename: undefined,
    endpoint: undefined,
    idleTimeoutMs: 30_000,
  });
  const config = loadConfig({
    ...source,
    NIXERY_STORAGE_BACKEND: 'gcs',
    GCS_BUCKET: 'nixery-layers',
    GOOGLE_APPLICATION_CREDENTIALS: 'keys/nixery.json',
    GOOGLE_CLOUD_PROJECT: 'my-project',
    GCS_ENDPOINT: 'http://127.0.0.1:9199/',
    S3_BUCKET: 'ignored',
  });
  assert.deepEqual(config.storage, {
    backend: 'gcs',
    bucket: 'nixery-layers',
    projectId: 'my-project',
    keyFilename: resolve('keys/nixery.json'),
    endpoint: 'http://127.0.0.1:9199',
    idleTimeoutMs: 30_000,
  });
});

// The edge in front of this origin: NIXEDGE_SHARED_SECRET, EDGE_URL, WRITE_BACK_ATTEMPTS.
const SECRET = '0123456789abcdef0123456789abcdef';

test('no edge by default; 6 write-back attempts', () => {
  assert.deepEqual(loadConfig(BASE).edge, { writeBackAttempts: 6 });
  assert.deepEqual(loadConfig({ ...BASE, NIXEDGE_SHARED_SECRET: ' ', EDGE_URL: '', WRITE_BACK_ATTEMPTS: '' }).edge, { writeBackAttempts: 6 });
});

test('the secret, the edge URL (trailing slash dropped) and the attempts are read', () => {
  const config = loadConfig({ ...BASE, NIXEDGE_SHARED_SECRET: SECRET, EDGE_URL: 'https://registry.example.com/', WRITE_BACK_ATTEMPTS: '3' });
  assert.deepEqual(config.edge, { sharedSecret: SECRET, url: 'https://registry.example.com', writeBackAttempts: 3 });
});

test('a secret shorter than 32 characters is refused without echoing it', () => {
  assert.throws(
    () => loadConfig({ ...BASE, NIXEDGE_SHARED_SECRET: 'short-secret-value' }),
    (error: unknown) => error instanceof ConfigError && /NIXEDGE_SHARED_SECRET/.test(error.message) && !error.message.includes('short-secret-value'),
  );
});

test('an EDGE_URL that is not http(s) and bad attempt counts are refused', () => {
  for (const env of [{ EDGE_URL: 'registry.example.com' }, { EDGE_URL: 'ftp://x' }, { WRITE_BACK_ATTEMPTS: '0' }, { WRITE_BACK_ATTEMPTS: 'many' }]) {
    assert.throws(() => loadConfig({ ...BASE, ...env }), (error: unknown) => error instanceof ConfigError && error.message.includes(Object.keys(env)[0] ?? ''));
  }
});

test('the Nix store collection: off by default; sizes with K, M, G, T; NIX_GC_MAX_FREE twice the minimum unless set, never below it', () => {
  assert.equal(loadConfig(BASE).nixGc.minFreeBytes, 0);
  assert.deepEqual(loadConfig({ ...BASE, NIX_GC_MIN_FREE: '10G' }).nixGc, {
    storeDir: '/nix/store',
    minFreeBytes: 10 * 1024 ** 3,
    maxFreeBytes: 20 * 1024 ** 3,
    checkIntervalSeconds: 60,
  });
  const explicit = loadConfig({ ...BASE, NIX_GC_MIN_FREE: '512M', NIX_GC_MAX_FREE: '3000000000', NIX_GC_CHECK_SECONDS: '5' }).nixGc;
  assert.deepEqual([explicit.minFreeBytes, explicit.maxFreeBytes, explicit.checkIntervalSeconds], [512 * 1024 ** 2, 3_000_000_000, 5]);
  assertConfigError({ ...BASE, NIX_GC_MIN_FREE: 'lots' }, ['NIX_GC_MIN_FREE', 'size']);
  assertConfigError({ ...BASE, NIX_GC_MIN_FREE: '2G', NIX_GC_MAX_FREE: '1G' }, ['NIX_GC_MAX_FREE', 'NIX_GC_MIN_FREE']);
});

test('npm run gc reads the storage settings without a package source', () => {
  assert.deepEqual(loadGcConfig({ STORAGE_PATH: '/var/lib/nixedge', NIX_TIMEOUT: '120' }), { storage: { backend: 'filesystem', path: '/var/lib/nixedge' }, nixTimeoutSeconds: 120 });
});

test('no metrics by default; METRICS_TOKEN, METRICS_PORT and METRICS_HOST are read; a short token or a bad port is refused', () => {
  assert.deepEqual(loadConfig(BASE).metrics, { token: undefined, port: undefined, host: '127.0.0.1' });
  assert.deepEqual(loadConfig({ ...BASE, METRICS_TOKEN: 'metrics-token-0123456789', METRICS_PORT: '9464', METRICS_HOST: '10.0.0.2' }).metrics, {
    token: 'metrics-token-0123456789',
    port: 9464,
    host: '10.0.0.2',
  });
  assert.equal(loadConfig({ ...BASE, METRICS_PORT: '' }).metrics.port, undefined);
  assertConfigError({ ...BASE, METRICS_TOKEN: 'short' }, ['METRICS_TOKEN']);
  assertConfigError({ ...BASE, METRICS_PORT: '70000' }, ['METRICS_PORT']);
  assertConfigError({ ...BASE, METRICS_PORT: 'x' }, ['METRICS_PORT']);
});
