import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Digest } from '../../shared/digest.ts';
import { manifestMediaType, MediaType } from '../../shared/media-types.ts';
import { buildImage, type ImageSpec, type LayerDescriptor } from './manifest.ts';

const digestOf = (text: string): Digest => `sha256:${createHash('sha256').update(text).digest('hex')}`;

const layer = (name: string, size: number): LayerDescriptor => ({
  digest: digestOf(`blob ${name}`),
  diffId: digestOf(`tar ${name}`),
  size,
});

const LAYERS = [layer('glibc', 1000), layer('hello', 200), layer('customisation', 30)];

const spec = (overrides: Partial<ImageSpec> = {}): ImageSpec => ({
  system: 'x86_64-linux',
  layers: LAYERS,
  env: ['PATH=/bin', 'SSL_CERT_FILE=/etc/ssl/certs/ca-bundle.crt'],
  cmd: undefined,
  ...overrides,
});

interface Manifest {
  schemaVersion: number;
  mediaType: string;
  config: { mediaType: string; digest: string; size: number };
  layers: { mediaType: string; digest: string; size: number }[];
}

interface Config {
  architecture: string;
  os: string;
  config: { Env: string[]; Cmd?: string[] };
  rootfs: { type: string; diff_ids: string[] };
}

const parse = <T>(bytes: Buffer): T => JSON.parse(bytes.toString('utf8')) as T;

test('both flavours name the same config and layers, each with its own media types', async () => {
  const image = await buildImage(spec());
  const flavours = [
    ['oci', MediaType.ociManifest, MediaType.ociConfig, MediaType.ociLayerGzip],
    ['docker', MediaType.dockerManifest, MediaType.dockerConfig, MediaType.dockerLayerGzip],
  ] as const;
  for (const [flavour, manifestType, configType, layerType] of flavours) {
    const manifest = parse<Manifest>(image.manifests[flavour].bytes);
    assert.equal(manifest.schemaVersion, 2);
    assert.equal(manifest.mediaType, manifestType);
    assert.deepEqual(manifest.config, { mediaType: configType, digest: image.config.digest, size: image.config.bytes.length });
    assert.deepEqual(
      manifest.layers,
      LAYERS.map((l) => ({ mediaType: layerType, digest: l.digest, size: l.size })),
    );
  }
  assert.notEqual(image.manifests.oci.digest, image.manifests.docker.digest);
});

test('zstd: one OCI manifest with zstd layer types, the Docker flavour is that manifest, the config is the gzip image\'s', async () => {
  const gzip = await buildImage(spec());
  const zstd = await buildImage(spec({ compression: 'zstd' }));
  const manifest = parse<Manifest>(zstd.manifests.oci.bytes);
  assert.equal(manifest.mediaType, MediaType.ociManifest);
  assert.equal(zstd.manifests.oci.mediaType, MediaType.ociManifest);
  assert.deepEqual(manifest.config, { mediaType: MediaType.ociConfig, digest: gzip.config.digest, size: gzip.config.bytes.length });
  assert.deepEqual(
    manifest.layers,
    LAYERS.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: l.digest, size: l.size })),
  );
  assert.deepEqual(zstd.manifests.docker, zstd.manifests.oci, 'no Docker v2 manifest can name zstd layers');
  assert.deepEqual(zstd.config, gzip.config, 'same diffIDs, same config');
  assert.deepEqual(await buildImage(spec({ compression: 'gzip' })), gzip, 'gzip is the default');
});

test('config: architecture by system, linux, diff_ids in layer order, Env, Cmd only when given', async () => {
  const systems = [
    ['x86_64-linux', 'amd64'],
    ['aarch64-linux', 'arm64'],
  ] as const;
  for (const [system, architecture] of systems) {
    const config = parse<Config>((await buildImage(spec({ system }))).config.bytes);
    assert.equal(config.architecture, architecture);
    assert.equal(config.os, 'linux');
    assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: LAYERS.map((l) => l.diffId) });
    assert.deepEqual(config.config, { Env: ['PATH=/bin', 'SSL_CERT_FILE=/etc/ssl/certs/ca-bundle.crt'] });
    assert.ok(!('Cmd' in config.config));
  }
  const withCmd = parse<Config>((await buildImage(spec({ cmd: ['hello', '--version'] }))).config.bytes);
  assert.deepEqual(withCmd.config.Cmd, ['hello', '--version']);
});

test('deterministic: the same spec gives the same bytes; digests are sha256 of the bytes', async () => {
  const first = await buildImage(spec({ cmd: ['sh'] }));
  const second = await buildImage(spec({ cmd: ['sh'], layers: LAYERS.map((l) => ({ ...l })), env: [...spec().env] }));
  assert.deepEqual(second, first);
  for (const blob of [first.config, first.manifests.oci, first.manifests.docker]) {
    assert.equal(blob.digest, `sha256:${createHash('sha256').update(blob.bytes).digest('hex')}`);
  }
  // Any change to the layers changes the config and so the manifests.
  const other = await buildImage(spec({ cmd: ['sh'], layers: LAYERS.slice().reverse() }));
  assert.notEqual(other.config.digest, first.config.digest);
  assert.notEqual(other.manifests.oci.digest, first.manifests.oci.digest);
});

test('manifestMediaType (shared/media-types.ts) recognises both manifests and nothing else', async () => {
  const image = await buildImage(spec());
  assert.equal(manifestMediaType(image.manifests.oci.bytes), MediaType.ociManifest);
  assert.equal(manifestMediaType(image.manifests.docker.bytes), MediaType.dockerManifest);
  const notManifests: [string, Uint8Array][] = [
    ['config blob', image.config.bytes],
    ['gzip layer', gzipSync(Buffer.from('not a manifest'))],
    ['gzip of a manifest', gzipSync(image.manifests.oci.bytes)],
    ['other JSON', Buffer.from(JSON.stringify({ mediaType: 'application/json', schemaVersion: 2 }))],
    ['JSON with a numeric mediaType', Buffer.from('{"mediaType":1}')],
    ['JSON null', Buffer.from('null')],
    ['empty', new Uint8Array()],
  ];
  for (const [what, bytes] of notManifests) {
    assert.equal(manifestMediaType(bytes), undefined, what);
  }
});
