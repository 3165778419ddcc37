/**
 * The front page's guide: what nixedge is and how to use it, in one screen's worth of sections,
 * every example written with this registry's own address.
 */

import { jsx, type JSXNode } from './jsx.ts';
import { STATUS_PATH } from '../build-status.ts';
import { limits } from '../reference.ts';
import { NIXERY_URL, PACKAGE_SEARCH_URL } from './links.ts';

const code = (text: string): JSXNode => jsx('code', {}, text);
const pre = (text: string): JSXNode => jsx('pre', {}, jsx('code', {}, text));

/** The opening: what this is, and the one command that shows it. */
export function Intro({ host }: { host: string }): JSXNode[] {
  return [
    jsx('h1', {}, 'nixedge'),
    jsx('p', { class: 'lead' }, 'Container images of any Nix packages, built on demand.'),
    pre(`docker pull ${host}/shell/git/htop`),
    jsx(
      'p',
      {},
      'gives an image holding ',
      code('git'),
      ', ',
      code('htop'),
      ' and a shell, with exactly their runtime dependencies and nothing else. Each part of the name is a package of this registry\'s package set; the image is built the first time anyone asks for it, then served from the cache. Any registry client works: docker, podman, containerd, skopeo, crane.',
    ),
  ];
}

/** Image names: packages, meta-packages, nested attribute paths. */
export function Names({ host }: { host: string }): JSXNode[] {
  const row = (name: string, what: (string | JSXNode)[]): JSXNode => jsx('tr', {}, jsx('td', {}, code(`${host}/${name}`)), jsx('td', {}, ...what));
  return [
    jsx('h2', { id: 'names' }, 'Image names'),
    jsx(
      'div',
      { class: 'table' },
      jsx(
        'table',
        {},
        jsx('tr', {}, jsx('th', {}, 'pull'), jsx('th', {}, 'image')),
        row('hello', [code('hello'), ' plus what every image gets: CA certificates (', code('cacert'), ') and ', code('iana-etc')]),
        row('shell/git/htop', [code('git'), ', ', code('htop'), ' and the ', code('shell'), ' meta-package; the image starts bash']),
        row('python3packages.numpy', ['a nested attribute path (', code('python3Packages.numpy'), ')']),
        row('arm64/shell', ['the shell built for 64-bit ARM (', code('aarch64-linux'), ')']),
      ),
    ),
    jsx(
      'p',
      {},
      'Names are lower case (docker requires it); attribute names are matched case-insensitively, the exact name first. The order and duplicates of components do not change the image. Look package names up on ',
      jsx('a', { href: PACKAGE_SEARCH_URL }, 'search.nixos.org'),
      ' (for nixpkgs).',
    ),
    jsx('h2', { id: 'meta-packages' }, 'Meta-packages'),
    jsx(
      'dl',
      {},
      jsx('dt', {}, code('shell')),
      jsx('dd', {}, code('bashInteractive'), ', ', code('coreutils'), ', ', code('moreutils'), ' and ', code('nano'), '; the image\'s command becomes ', code('/bin/bash'), '.'),
      jsx('dt', {}, code('arm64')),
      jsx('dd', {}, 'builds one image for ', code('aarch64-linux'), ' (', code('linux/arm64'), ') instead of the registry\'s default platforms.'),
      jsx('dt', {}, code('zstd')),
      jsx(
        'dd',
        {},
        'compresses the layers with zstd: smaller and faster to unpack, for clients that read zstd (containerd 1.5+, podman, skopeo, Docker 23+). Older Docker engines are told to pull the name without ',
        code('zstd'),
        '. nixpkgs\' own ',
        code('zstd'),
        ' package is ',
        code('zstd.bin'),
        '.',
      ),
    ),
  ];
}

/** Tags select the package set's revision; platforms. */
export function Revisions({ host }: { host: string }): JSXNode[] {
  return [
    jsx('h2', { id: 'tags' }, 'Tags and revisions'),
    jsx(
      'dl',
      {},
      jsx('dt', {}, code(':latest'), ' (or no tag)'),
      jsx('dd', {}, 'the revision this registry is configured with; it moves when the package set does.'),
      jsx('dt', {}, code(':<40-hex commit>')),
      jsx('dd', {}, 'that commit of the package set: the image never changes.'),
      jsx('dt', {}, code(':<branch, tag or channel>')),
      jsx('dd', {}, 'that revision, e.g. ', code(`${host}/hello:nixos-unstable`), ' when the registry builds from nixpkgs channels.'),
    ),
    jsx('h2', { id: 'platforms' }, 'Platforms: amd64, arm64, both'),
    jsx(
      'p',
      {},
      'A name without ',
      code('arm64'),
      ' is built for the platforms the operator chose (',
      code('NIXEDGE_PLATFORMS'),
      ', ',
      code('linux/amd64'),
      ' unless set). With several, a tag answers an OCI index (a Docker manifest list for older clients) of one image per platform, built from the same revision, and each client pulls its own architecture:',
    ),
    pre(`docker pull --platform linux/arm64 ${host}/shell`),
  ];
}

/** The limits a person pulling can meet. */
export function Limits(): JSXNode[] {
  return [
    jsx('h2', { id: 'limits' }, 'Limits'),
    jsx(
      'ul',
      {},
      jsx('li', {}, `A name has at most ${limits.maxNameLength} characters and ${limits.maxComponents} components; an attribute path at most ${limits.maxAttributeDepth} names.`),
      jsx('li', {}, 'An image has at most about 95 layers; packages shared by many images get layers of their own, so pulls of related images reuse them.'),
      jsx('li', {}, 'A build may take only so long (', code('NIX_TIMEOUT'), '), and an image may be limited in size (', code('MAX_IMAGE_SIZE_MB'), '): the operator sets both.'),
      jsx('li', {}, 'New images are built a few at a time; past the queue the answer is 429 with ', code('Retry-After'), ', as it is past the edge\'s limit of new images per address (30 a minute unless the operator says otherwise). Images already built always pull.'),
    ),
  ];
}

/** What a failure answers, so a person can read their client's error. */
export function Failures(): JSXNode[] {
  return [
    jsx('h2', { id: 'failures' }, 'When an image cannot be built'),
    jsx(
      'dl',
      {},
      jsx('dt', {}, 'An unknown package: 404 ', code('MANIFEST_UNKNOWN')),
      jsx('dd', {}, 'naming each unknown package with close matches: ', code('helo: no attribute "helo" (did you mean hello?)'), '.'),
      jsx('dt', {}, 'A package that cannot be built: 400 ', code('MANIFEST_UNKNOWN'), ' with the reason'),
      jsx(
        'dd',
        {},
        'a derivation fails to build, the package set refuses a package (broken, unfree, insecure, removed), the image is over the size limit, or its platform cannot be built here. The message names the package, the failing derivation and a build id: ',
        code('broken: nix failed to build broken-1.0 (exit code 1; build 3f2a9c1d)'),
        '. docker, podman, skopeo and crane print it; containerd prints it as the status line. The same pull within a minute gets the same answer without a new build.',
      ),
      jsx('dt', {}, 'The registry\'s own trouble: 503 with ', code('Retry-After')),
      jsx('dd', {}, 'a build over the time limit, a failed download, storage that cannot be reached: retry later. Too busy: 429.'),
    ),
  ];
}

/** Where the rest is: the API, the status, Nixery. */
export function Footer(): JSXNode {
  return jsx(
    'footer',
    {},
    'Registry API at ',
    jsx('a', { href: '/v2/' }, code('/v2/')),
    ' · builds as JSON at ',
    jsx('a', { href: STATUS_PATH }, code(STATUS_PATH)),
    ' · a successor to ',
    jsx('a', { href: NIXERY_URL }, 'Nixery'),
    ', keeping its names.',
  );
}
