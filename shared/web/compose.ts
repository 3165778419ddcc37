/**
 * The front page's form as a pure function: package names, the meta-packages and a tag in; the
 * image name and pull command out, or what is wrong, in the registry's own words (the same
 * grammar the registry answers with, shared/reference.ts). The browser script mirrors it for
 * live updates; without JavaScript the server renders this.
 */

import { RegistryError } from '../errors.ts';
import { parseImageName, parseReference } from '../reference.ts';

export interface ComposeInput {
  /** Package names as typed: separated by spaces, commas or "/", any case. */
  packages: string;
  shell: boolean;
  arm64: boolean;
  zstd: boolean;
  /** The tag; blank means latest. */
  tag: string;
}

export type Composed =
  | { ok: true; name: string; tag: string; /** `<name>` or `<name>:<tag>`, as written after the host. */ reference: string }
  | { ok: false; message: string };

/** Composes an image name: meta-packages first, then the packages in the order typed. */
export function composeImage(input: ComposeInput): Composed {
  const packages = input.packages
    .split(/[\s,/]+/)
    .filter((part) => part !== '')
    // Docker allows only lower case; the registry resolves attribute names case-insensitively.
    .map((part) => part.toLowerCase());
  const components = [...(input.shell ? ['shell'] : []), ...(input.arm64 ? ['arm64'] : []), ...(input.zstd ? ['zstd'] : []), ...packages];
  if (components.length === 0) return { ok: false, message: 'Name at least one package (or tick shell).' };
  const name = components.join('/');
  const tag = input.tag.trim() === '' ? 'latest' : input.tag.trim();
  try {
    parseImageName(name);
    if (parseReference(tag).kind !== 'tag') return { ok: false, message: `Expected a tag (latest, a branch, a channel or a commit), got ${JSON.stringify(tag)}` };
  } catch (error) {
    if (error instanceof RegistryError) return { ok: false, message: error.message };
    throw error;
  }
  return { ok: true, name, tag, reference: tag === 'latest' ? name : `${name}:${tag}` };
}
