/**
 * The front page's form: package names, the meta-packages and a tag compose an image name and
 * its pull command. Without JavaScript it submits to `/` and the server answers with the command
 * (or what is wrong); with it the command follows the typing, and "Check" asks the registry.
 */

import { jsx, type JSXNode } from './jsx.ts';
import { STATUS_PATH } from '../build-status.ts';
import type { ComposeInput, Composed } from './compose.ts';

/** A checkbox with its label; checked when the form says so. */
function option(name: 'shell' | 'arm64' | 'zstd', checked: boolean, what: (string | JSXNode)[]): JSXNode {
  return jsx(
    'label',
    { class: 'option' },
    jsx('input', { type: 'checkbox', id: name, name, checked }),
    jsx('span', {}, jsx('code', {}, name), ': ', ...what),
  );
}

/** The form, filled with `input`, showing `composed`'s pull command or its problem. */
export function ComposeForm({ host, input, composed }: { host: string; input: ComposeInput; composed: Composed }): JSXNode[] {
  const text = { type: 'text', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' };
  return [
    jsx('h2', { id: 'compose-heading' }, 'Compose and check an image'),
    jsx(
      'form',
      { id: 'compose', method: 'get', action: '/', 'data-host': host, 'data-status': STATUS_PATH },
      jsx('label', { for: 'packages' }, 'Packages'),
      jsx('input', { ...text, id: 'packages', name: 'packages', value: input.packages, placeholder: 'git htop python3Packages.numpy' }),
      jsx('p', { class: 'hint' }, 'Nix attribute names, separated by spaces.'),
      option('shell', input.shell, ['bash, coreutils, moreutils and nano; the image starts bash']),
      option('arm64', input.arm64, ['build for 64-bit ARM (', jsx('code', {}, 'aarch64-linux'), ')']),
      option('zstd', input.zstd, ['zstd layers: faster builds and pulls, for containerd, podman and Docker 23+']),
      jsx('label', { for: 'tag' }, 'Tag'),
      jsx('input', { ...text, id: 'tag', name: 'tag', value: input.tag }),
      jsx(
        'div',
        { class: 'buttons' },
        jsx('button', { type: 'submit', class: 'secondary' }, 'Show the pull command'),
        // Checking needs the browser to ask the registry: shown by the script.
        jsx('button', { type: 'button', id: 'check', hidden: true }, 'Check'),
      ),
      jsx('pre', {}, jsx('code', { id: 'pull' }, composed.ok ? `docker pull ${host}/${composed.reference}` : '')),
      jsx('p', { id: 'compose-error', class: 'state-failed' }, composed.ok ? '' : composed.message),
      jsx('div', { id: 'answer', class: 'answer', 'aria-live': 'polite' }),
    ),
  ];
}

/** The list of builds in flight and lately, filled and refreshed by the script. */
export function BuildsSection(): JSXNode[] {
  return [
    jsx('h2', { id: 'builds' }, 'Builds'),
    jsx('p', { id: 'builds-summary', class: 'muted' }, 'What the registry is building now and built lately: ', jsx('a', { href: STATUS_PATH }, STATUS_PATH), ' (JSON).'),
    jsx(
      'div',
      { class: 'table' },
      jsx(
        'table',
        { id: 'builds-table', hidden: true },
        jsx('thead', {}, jsx('tr', {}, jsx('th', {}, 'image'), jsx('th', {}, 'state'), jsx('th', {}, 'layers'), jsx('th', {}, 'compressed'), jsx('th', {}, 'time'))),
        jsx('tbody', {}),
      ),
    ),
  ];
}
