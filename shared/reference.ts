/**
 * Image names and references: what `/v2/<name>/manifests/<reference>` asks for.
 *
 * ## Names
 *
 * The name is exactly the repository-name grammar of Docker and the OCI distribution spec, so every
 * name accepted here can be pulled and every pullable name is either accepted or rejected with a
 * message saying what is wrong:
 *
 *   name       := component ("/" component)*                 at most 255 characters in all
 *   component  := alnum+ (separator alnum+)*                   at most 64 components
 *   separator  := "." | "_" | "__" | "-"+
 *   alnum      := [a-z0-9]
 *
 * Each component is one Nix attribute path: it is split on "." into attribute names, so
 * `python3packages.numpy` is the path [python3packages, numpy]; a path has at most 8 names.
 * `_`, `__` and runs of `-` stay inside an attribute name (`gcc-unwrapped`, `perl5__x`). Docker
 * allows only lower case, so the registry resolves every attribute name case-insensitively
 * (`python3packages` -> `python3Packages`); a name with upper case is rejected with a message
 * saying so rather than silently lower-cased, because no client would send it anyway.
 *
 * Three components are meta-packages, recognised only as whole components:
 *   `shell`   adds bashinteractive, coreutils, moreutils and nano, and makes the image's Cmd a shell;
 *   `arm64`   builds for aarch64-linux instead of x86_64-linux;
 *   `zstd`    compresses the layers with zstd, whatever the registry's default (LAYER_COMPRESSION).
 * (`shell.foo` is an ordinary attribute path; so nixpkgs' own `zstd` package is reached by an
 * output, `zstd.bin`.) Components are a set: their order and duplicates do not change the image.
 * A name of meta-packages alone is valid (`arm64` is an empty image).
 *
 * Limits: 255 characters is Docker's own limit; note that clients apply it to the whole reference
 * including the registry host, so with a long host name a client may refuse a somewhat shorter
 * name first. The component and depth limits count the name as written (meta-packages and
 * duplicates included) and bound the work any single request can ask of the evaluator.
 *
 * ## References
 *
 *   reference  := tag | digest
 *   tag        := [A-Za-z0-9_][A-Za-z0-9._-]{0,127}             Docker's tag grammar, case-sensitive
 *   digest     := "sha256:" [a-f0-9]{64}                          the only algorithm served
 *
 * A reference containing ":" whose prefix looks like an algorithm (`[a-z0-9]+([.+_-][a-z0-9]+)*`)
 * is a digest attempt: another algorithm or a malformed hex part is DIGEST_INVALID. Anything else
 * that is neither a tag nor a digest is MANIFEST_UNKNOWN.
 *
 * ## Tags select nixpkgs revisions
 *
 *   `latest`                      the configured default revision (exactly `latest`; `Latest` is a ref)
 *   40 lowercase hex characters   a git commit: immutable, so its tag can be cached forever
 *   anything else                 a ref: git branch or tag, or a channel name; it moves
 *
 * Only lowercase 40-hex is a commit, as git prints them: an upper-case or abbreviated hash is
 * treated as a ref name (and normally fails to resolve), so a commit has exactly one spelling and
 * one cache key, and an abbreviation, which can become ambiguous, is never taken as immutable.
 * Branches containing "/" cannot be named: the tag grammar has no "/".
 */

import { RegistryError } from './errors.ts';
import type { Digest } from './digest.ts';
import type { LayerCompression } from './media-types.ts';

/** The systems an image can be built for. */
export type NixSystem = 'x86_64-linux' | 'aarch64-linux';

/** Limits on names and tags; see the grammar at the top of this file. */
export const limits = Object.freeze({
  /** Characters in a whole name (Docker's limit). */
  maxNameLength: 255,
  /** Components (`/`-separated) in a name, meta-packages and duplicates included. */
  maxComponents: 64,
  /** Attribute names in one component's attribute path (`a.b.c` is 3). */
  maxAttributeDepth: 8,
  /** Characters in a tag (Docker's limit). */
  maxTagLength: 128,
});

/** Components that are not packages but options of the image. */
export const META_PACKAGES = Object.freeze(['arm64', 'shell', 'zstd'] as const);
export type MetaPackage = (typeof META_PACKAGES)[number];

/** Whether a component is a meta-package rather than a package. */
function isMetaPackage(component: string): component is MetaPackage {
  return (META_PACKAGES as readonly string[]).includes(component);
}

/** The packages the `shell` meta-package stands for (resolved case-insensitively). */
export const SHELL_PACKAGES = Object.freeze(['bashinteractive', 'coreutils', 'moreutils', 'nano'] as const);

/** The system an image is built for unless `arm64` is requested. */
export const DEFAULT_SYSTEM: NixSystem = 'x86_64-linux';

/** A parsed image name. */
export interface ImageName {
  /**
   * Requested Nix attribute paths: lower case, dotted ("python3packages.numpy"), sorted (by code
   * unit), unique, with the `shell` meta-package expanded to SHELL_PACKAGES.
   */
  packages: string[];
  /** aarch64-linux when the `arm64` meta-package is present, x86_64-linux otherwise. */
  system: NixSystem;
  /** Whether `shell` was requested (the image's Cmd becomes a shell). */
  shell: boolean;
  /** Whether the name itself picks the system (`arm64`): such a name is one image, never a multi-platform index. */
  systemChosen: boolean;
  /** The layer compression the name asks for (`zstd`); undefined = the registry's default. */
  compression: LayerCompression | undefined;
  /**
   * Canonical form, used in cache keys: equal exactly for names that differ only in the order or
   * duplicates of components. Lines separated by "\n" (which no valid component contains):
   * `nixedge-image/v1`, `system=<system>`, `shell=<true|false>`, `compression=zstd` only when the
   * name asks for it, then one line per package. That line is optional so that every name without
   * `zstd` keeps the canonical form (and so the edge's tag keys and the image cache's keys) it had
   * before `zstd` existed; no package line contains "=", so it cannot be mistaken for a package.
   */
  canonical: string;
}

/** A parsed manifest reference: a tag or a digest. */
export type Reference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: Digest };

/** Which nixpkgs revision a tag selects. */
export type RevisionSelector =
  | { kind: 'default' }
  | { kind: 'commit'; commit: string }
  | { kind: 'ref'; ref: string };

const COMPONENT_PATTERN = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const ALLOWED_CHARACTERS = /^[a-zA-Z0-9._-]$/;
const SEPARATOR_RUN = /[._-]+/g;
const VALID_SEPARATOR = /^(?:\.|_|__|-+)$/;
const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST_ALGORITHM = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$/;
const SHA256_HEX = /^[a-f0-9]{64}$/;
const COMMIT_PATTERN = /^[a-f0-9]{40}$/;
const NAME_EXAMPLE = 'e.g. "shell/git/htop" or "python3packages.numpy"';
const COMPONENT_RULE =
  'a component is lower-case letters and digits separated by ".", "_", "__" or runs of "-"';

/** A value quoted for a message: JSON string syntax (control characters visible), truncated. */
function quote(value: string, max = 64): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}...` : value);
}

function nameError(message: string, detail?: Record<string, unknown>): RegistryError {
  return new RegistryError('NAME_INVALID', `Invalid image name: ${message}`, detail === undefined ? {} : { detail });
}

/** The reason `component` (number `position`, 1-based) is not valid, or undefined when it is. */
function componentProblem(component: string, position: number): string | undefined {
  const label = `component ${position} (${quote(component)})`;
  if (component === '') {
    return `component ${position} is empty: the name has a leading, trailing or doubled "/"`;
  }
  for (const char of component) {
    if (!ALLOWED_CHARACTERS.test(char)) {
      const hint = char === ':' || char === '@' ? ' (a tag or digest goes after /manifests/, not in the name)' : '';
      return `${label} contains ${quote(char)}${hint}; ${COMPONENT_RULE}`;
    }
  }
  if (/[A-Z]/.test(component)) {
    const lower = component.toLowerCase();
    const suggestion = componentProblem(lower, position) === undefined ? `, so write ${quote(lower)}` : '';
    return (
      `${label} contains upper case; image names must be lower case (Docker requires it) and ` +
      `the registry resolves attribute names case-insensitively${suggestion}`
    );
  }
  if (/^[._-]/.test(component)) {
    return `${label} starts with ${quote(component[0] ?? '')}; ${COMPONENT_RULE}`;
  }
  if (/[._-]$/.test(component)) {
    return `${label} ends with ${quote(component.at(-1) ?? '')}; ${COMPONENT_RULE}`;
  }
  for (const [run] of component.matchAll(SEPARATOR_RUN)) {
    if (VALID_SEPARATOR.test(run)) continue;
    if (run.includes('..')) {
      return `${label} contains "..", an empty attribute name; attribute names are separated by a single "."`;
    }
    return `${label} contains the separator sequence ${quote(run)}; ${COMPONENT_RULE}`;
  }
  // The checks above are the grammar spelled out; this is the grammar itself, as a backstop.
  if (!COMPONENT_PATTERN.test(component)) return `${label} is not valid; ${COMPONENT_RULE}`;
  const depth = component.split('.').length;
  if (depth > limits.maxAttributeDepth) {
    return `${label} is an attribute path of depth ${depth}; the limit is ${limits.maxAttributeDepth}`;
  }
  return undefined;
}

/**
 * Parses the name of an image (the `<name>` of `/v2/<name>/manifests/...`) into its package set,
 * system and shell flag. Throws RegistryError NAME_INVALID, naming the first problem and the
 * component it is in.
 */
export function parseImageName(name: string): ImageName {
  if (name === '') throw nameError(`Expected an image name, ${NAME_EXAMPLE}, got an empty name`);
  if (name.length > limits.maxNameLength) {
    throw nameError(
      `Expected at most ${limits.maxNameLength} characters, got ${name.length} (${quote(name, 40)})`,
      { length: name.length },
    );
  }
  const components = name.split('/');
  if (components.length > limits.maxComponents) {
    throw nameError(`Expected at most ${limits.maxComponents} components, got ${components.length}`, {
      components: components.length,
    });
  }
  components.forEach((component, index) => {
    const problem = componentProblem(component, index + 1);
    if (problem !== undefined) throw nameError(problem, { component: index + 1 });
  });

  const metas = new Set<MetaPackage>();
  const packages = new Set<string>();
  for (const component of components) {
    if (isMetaPackage(component)) metas.add(component);
    else packages.add(component);
  }
  const shell = metas.has('shell');
  if (shell) for (const pkg of SHELL_PACKAGES) packages.add(pkg);
  // Default sort compares UTF-16 code units: locale-independent, the same on every machine.
  const sorted = [...packages].sort();
  const system: NixSystem = metas.has('arm64') ? 'aarch64-linux' : DEFAULT_SYSTEM;
  const compression: LayerCompression | undefined = metas.has('zstd') ? 'zstd' : undefined;
  return { packages: sorted, system, shell, compression, canonical: canonicalName(system, shell, compression, sorted), systemChosen: metas.has('arm64') };
}

/** The canonical form of a name's parts (see ImageName.canonical): a compression line only for names that ask for one. */
function canonicalName(system: NixSystem, shell: boolean, compression: LayerCompression | undefined, packages: readonly string[]): string {
  const options = [`system=${system}`, `shell=${shell}`, ...(compression === undefined ? [] : [`compression=${compression}`])];
  return ['nixedge-image/v1', ...options, ...packages].join('\n');
}

/** The same image name built for another system (one platform of a multi-platform image). */
export function withSystem(name: ImageName, system: NixSystem): ImageName {
  return { ...name, system, canonical: canonicalName(system, name.shell, name.compression, name.packages) };
}

/** The attribute names of a package of an ImageName: `python3packages.numpy` -> [python3packages, numpy]. */
export function attributePath(pkg: string): string[] {
  return pkg.split('.');
}

/**
 * Parses the `<reference>` of `/v2/<name>/manifests/<reference>`: a tag or a sha256 digest.
 * Throws DIGEST_INVALID for a digest with another algorithm or a malformed hex part, and
 * MANIFEST_UNKNOWN (saying what tags and digests look like) for anything else invalid.
 */
export function parseReference(reference: string): Reference {
  if (TAG_PATTERN.test(reference)) return { kind: 'tag', tag: reference };
  const colon = reference.indexOf(':');
  if (colon > 0) {
    const algorithm = reference.slice(0, colon);
    const encoded = reference.slice(colon + 1);
    if (DIGEST_ALGORITHM.test(algorithm)) {
      if (algorithm !== 'sha256') {
        throw new RegistryError(
          'DIGEST_INVALID',
          `Expected a sha256 digest (sha256:<64 lowercase hex>), got algorithm ${quote(algorithm)}; only sha256 is supported`,
        );
      }
      if (!SHA256_HEX.test(encoded)) {
        throw new RegistryError(
          'DIGEST_INVALID',
          `Expected a digest of the form sha256:<64 lowercase hex>, got ${quote(reference, 80)}`,
        );
      }
      return { kind: 'digest', digest: `sha256:${encoded}` };
    }
  }
  throw new RegistryError(
    'MANIFEST_UNKNOWN',
    'Expected a tag (1 to 128 of A-Z a-z 0-9 _ . -, not starting with "." or "-": ' +
      '"latest", a branch, git tag or channel name, or a 40-hex commit) or a digest ' +
      `(sha256:<64 lowercase hex>), got ${quote(reference, 80)}`,
  );
}

/**
 * The nixpkgs revision a tag selects: `latest` -> the configured default; 40 lowercase hex -> that
 * commit (immutable); anything else -> a ref (branch, git tag or channel name; it may move).
 * Throws MANIFEST_UNKNOWN if `tag` is not a valid tag (see parseReference).
 */
export function revisionSelector(tag: string): RevisionSelector {
  const reference = parseReference(tag);
  if (reference.kind !== 'tag') {
    throw new RegistryError('MANIFEST_UNKNOWN', `Expected a tag, got the digest ${quote(tag, 80)}`);
  }
  if (tag === 'latest') return { kind: 'default' };
  if (COMMIT_PATTERN.test(tag)) return { kind: 'commit', commit: tag };
  return { kind: 'ref', ref: tag };
}
