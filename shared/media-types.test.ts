/** How a manifest request by tag is answered, by Accept header: the cases registry clients send. */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaType, negotiateManifest } from './media-types.ts';

const ALL = [MediaType.dockerManifest, MediaType.dockerManifestList, MediaType.ociIndex, MediaType.ociManifest].join(', '); // docker, podman, containerd
const DOCKER_ONLY = `${MediaType.dockerManifest}, ${MediaType.dockerManifestList}`;
const NO_LISTS = `${MediaType.ociManifest}, ${MediaType.dockerManifest}`;

test('a multi-platform image: an OCI index, else a Docker manifest list, else the first platform\'s manifest', () => {
  const lists = { lists: true };
  assert.equal(negotiateManifest(ALL, lists), 'oci-index');
  assert.equal(negotiateManifest(DOCKER_ONLY, lists), 'docker-list');
  assert.equal(negotiateManifest(NO_LISTS, lists), 'oci');
  assert.equal(negotiateManifest(MediaType.dockerManifest, lists), 'docker');
  assert.equal(negotiateManifest(undefined, lists), 'docker', 'no Accept: Docker v2 schema 2, as registries answer');
  assert.equal(negotiateManifest(`${MediaType.ociIndex.toUpperCase()};q=0.5`, lists), 'oci-index', 'case and parameters do not matter');
});

test('a one-platform image is never answered with a list, whatever the client accepts', () => {
  assert.equal(negotiateManifest(ALL), 'oci');
  assert.equal(negotiateManifest(DOCKER_ONLY), 'docker');
  assert.equal(negotiateManifest(`${MediaType.ociIndex}`), 'docker');
});
