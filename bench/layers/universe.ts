/**
 * A synthetic package universe shaped like nixpkgs, its channel bumps and the images pulled from it.
 *
 * - Tiers, created in order so every reference points at an earlier node (a DAG by construction):
 *   bootstrap (glibc, bash, ... and the nss-cacert / iana-etc every image gets), core libraries,
 *   language runtimes, language packages (each of one runtime), applications.
 * - References per package: lognormal around 4; targets drawn Zipf-like by rank within a tier, so
 *   early (low-tier) packages collect most of the in-degree; almost everything references glibc.
 * - narSize: lognormal, median 200 kB; ~1% giants of 100 MB .. 2 GB; runtimes tens of MB.
 * - Split outputs: some packages have `out` (libraries), `-bin` and `-dev` outputs.
 * - A store path's hash covers its name (with version) and its references' store paths, so when a
 *   package changes in a channel bump every reverse dependency gets a new hash, as in Nix.
 */

import { createHash } from 'node:crypto';
import type { ClosureGraph, StorePathInfo } from '../../origin/layers/types.ts';
import { drawZipf, logUniform, lognormal, seeded, zipfTable, type Random } from './random.ts';

export type Tier = 'bootstrap' | 'core' | 'runtime' | 'langpkg' | 'app';

/** One store path of the universe; its identity (index) is stable across epochs, its hash is not. */
export interface UniverseNode {
  /** Package name without version, plus the output suffix (`-bin`, `-dev`) if any. */
  base: string;
  /** The package (index into `packages`) this output belongs to. */
  pkg: number;
  output: 'out' | 'bin' | 'dev';
  tier: Tier;
  references: number[];
  narSize: number;
}

export interface UniversePackage {
  tier: Tier;
  /** Node index of each output; `out` always exists. */
  out: number;
  bin: number | undefined;
  dev: number | undefined;
  /** For language packages: the runtime package index. */
  runtime: number | undefined;
}

export interface Universe {
  nodes: UniverseNode[];
  packages: UniversePackage[];
  byTier: Record<Tier, number[]>;
}

/** One channel revision: every node's store path and size at that epoch (made by bumps.ts). */
export interface Epoch {
  paths: string[];
  narSize: number[];
  /** Packages whose new version reached the channel in the bump that produced this epoch (empty for epoch 0). */
  changed: number[];
  /** Packages updated upstream in that bump, whether their change reached the channel then or waits in staging. */
  updated: number[];
  /** Whether that bump merged staging (staging-next) into the channel. */
  stagingMerge: boolean;
}

export interface ImageSpec {
  name: string;
  kind: 'apps' | 'interpreter';
  /** Root node indices (requested packages plus nss-cacert and iana-etc), ascending. */
  roots: number[];
}

export interface UniverseOptions {
  seed: number;
  core: number;
  runtimes: number;
  langpkgs: number;
  apps: number;
  giantShare: number;
  splitShare: number;
  /** Every narSize is multiplied by this (1 = the sizes described in the header). */
  sizeScale: number;
}

export const DEFAULT_UNIVERSE: UniverseOptions = {
  seed: 20240601,
  core: 1700,
  runtimes: 24,
  langpkgs: 4200,
  apps: 2600,
  giantShare: 0.01,
  splitShare: 0.2,
  sizeScale: 1,
};

const KB = 1000;
const MB = 1000 * KB;
const GB = 1000 * MB;
const BOOTSTRAP = [
  'glibc', 'gcc-lib', 'libgcc', 'bash', 'coreutils', 'zlib', 'xz', 'bzip2', 'gnugrep', 'gnused',
  'gawk', 'findutils', 'diffutils', 'gnutar', 'gzip', 'attr', 'acl', 'libidn2', 'libunistring',
  'ncurses', 'readline', 'gmp', 'mpfr', 'pcre2',
];
const RUNTIMES = [
  'python3', 'perl', 'nodejs', 'ruby', 'ghc', 'openjdk', 'go', 'lua', 'php', 'R', 'julia', 'erlang',
  'guile', 'tcl', 'ocaml', 'racket', 'sbcl', 'elixir', 'dotnet', 'swift', 'dart', 'zig', 'nim', 'crystal',
];
export const CACERT = 'nss-cacert';
export const IANA_ETC = 'iana-etc';
/** Zipf exponent of reference targets within a tier: lower spreads in-degree and deepens closures. */
const ZIPF_EXPONENT = 0.8;
const NIX_BASE32 = '0123456789abcdfghijklmnpqrsvwxyz';

/** Builds the universe's structure (names, references, sizes at epoch 0) from a seed. */
export function generateUniverse(options: UniverseOptions = DEFAULT_UNIVERSE): Universe {
  const random = seeded(options.seed);
  const nodes: UniverseNode[] = [];
  const packages: UniversePackage[] = [];
  const byTier: Record<Tier, number[]> = { bootstrap: [], core: [], runtime: [], langpkg: [], app: [] };
  const refCount = (): number => Math.max(1, Math.round(lognormal(random, 3.4, 0.6)));
  // Giants sit in applications, runtimes, language packages and the less popular core libraries.
  const scale = options.sizeScale;
  const size = (tier: Tier): number => {
    const popularCore = tier === 'core' && byTier.core.length < options.core * 0.2;
    if (tier !== 'bootstrap' && !popularCore && random() < options.giantShare) return Math.round(logUniform(random, 100 * MB, 2 * GB) * scale);
    if (tier === 'runtime') return Math.round(lognormal(random, 40 * MB, 0.8) * scale);
    if (tier === 'bootstrap') return Math.round(lognormal(random, 1 * MB, 1.2) * scale);
    return Math.max(200, Math.round(lognormal(random, 200 * KB, 1.5) * scale));
  };

  /** Adds a package (one node, or out/bin/dev when split) and records it in its tier. */
  const addPackage = (tier: Tier, base: string, references: number[], split: boolean, runtime?: number): number => {
    const p = packages.length;
    const out = nodes.length;
    nodes.push({ base, pkg: p, output: 'out', tier, references: unique(references), narSize: size(tier) });
    let bin: number | undefined;
    let dev: number | undefined;
    if (split) {
      bin = nodes.length;
      nodes.push({ base: `${base}-bin`, pkg: p, output: 'bin', tier, references: [out], narSize: size(tier) });
      dev = nodes.length;
      nodes.push({ base: `${base}-dev`, pkg: p, output: 'dev', tier, references: [out], narSize: Math.max(200, Math.round(lognormal(random, 100 * KB, 1) * scale)) });
    }
    packages.push({ tier, out, bin, dev, runtime });
    byTier[tier].push(p);
    return p;
  };

  /** A reference to some output of package p: mostly `out`, sometimes `bin`, rarely a leaked `dev`. */
  const outputOf = (p: number): number => {
    const pkg = packages[p]!;
    const r = random();
    if (pkg.bin !== undefined && r < 0.15) return pkg.bin;
    if (pkg.dev !== undefined && r > 0.97) return pkg.dev;
    return pkg.out;
  };
  /** A Zipf-drawn package of a tier among its first `limit` packages (the popular ones first). */
  const table = zipfTable(10_000, ZIPF_EXPONENT);
  const pick = (tier: Tier, limit = byTier[tier].length): number | undefined => {
    if (limit <= 0) return undefined;
    return byTier[tier][drawZipf(random, table, limit)];
  };
  const glibc = (): number[] => (random() < 0.9 ? [0] : []);

  BOOTSTRAP.forEach((base, i) => {
    const references: number[] = [];
    for (let k = 0; k < Math.min(i, 1 + Math.floor(random() * 3)); k++) references.push(packages[Math.floor(random() * i)]!.out);
    addPackage('bootstrap', base, references, false);
  });
  addPackage('bootstrap', CACERT, [], false);
  addPackage('bootstrap', IANA_ETC, [], false);

  for (let i = 0; i < options.core; i++) {
    const references = glibc();
    for (let k = refCount(); k > 0; k--) {
      const target = random() < 0.35 || byTier.core.length === 0 ? pick('bootstrap', BOOTSTRAP.length) : pick('core');
      if (target !== undefined) references.push(outputOf(target));
    }
    addPackage('core', `lib${word(i)}`, references, random() < options.splitShare);
  }
  for (let i = 0; i < options.runtimes; i++) {
    const references = glibc();
    for (let k = refCount() + 2; k > 0; k--) references.push(outputOf(random() < 0.3 ? pick('bootstrap', BOOTSTRAP.length)! : pick('core')!));
    addPackage('runtime', RUNTIMES[i % RUNTIMES.length]! + (i >= RUNTIMES.length ? `${i}` : ''), references, false);
  }
  const runtimeTable = zipfTable(options.runtimes, 1.2);
  const perRuntime = new Map<number, number[]>();
  for (let i = 0; i < options.langpkgs; i++) {
    const runtime = byTier.runtime[drawZipf(random, runtimeTable)]!;
    const siblings = perRuntime.get(runtime) ?? [];
    const references = [packages[runtime]!.out];
    for (let k = refCount() - 1; k > 0; k--) {
      if (random() < 0.65 && siblings.length > 0) {
        references.push(packages[siblings[drawZipf(random, table, siblings.length)]!]!.out);
      } else {
        references.push(outputOf(pick('core')!));
      }
    }
    const p = addPackage('langpkg', `${packages[runtime] ? nodes[packages[runtime]!.out]!.base : 'x'}-${word(i + 7)}`, references, false, runtime);
    siblings.push(p);
    perRuntime.set(runtime, siblings);
  }
  for (let i = 0; i < options.apps; i++) {
    const references = glibc();
    for (let k = refCount(); k > 0; k--) {
      const r = random();
      const target =
        r < 0.55 ? pick('core') : r < 0.7 ? pick('langpkg') : r < 0.78 ? pick('runtime') : r < 0.88 ? pick('app') : pick('bootstrap', BOOTSTRAP.length);
      if (target !== undefined) references.push(outputOf(target));
    }
    addPackage('app', `${word(i + 13)}${i % 3 === 0 ? '-tool' : ''}`, references, random() < options.splitShare * 0.75);
  }
  return { nodes, packages, byTier };
}

/**
 * Every node's store path at given package revisions: the hash covers name, version and the
 * references' store paths, so a changed package changes the path of everything that reaches it (Nix's rule).
 */
export function storePaths(universe: Universe, revision: Int32Array): string[] {
  const paths: string[] = [];
  universe.nodes.forEach((node) => {
    const version = `${1 + (node.pkg % 5)}.${node.pkg % 13}.${revision[node.pkg]}`;
    const [stem, suffix] = node.output === 'out' ? [node.base, ''] : [node.base.slice(0, -node.output.length - 1), `-${node.output}`];
    const name = `${stem}-${version}${suffix}`;
    const hash = createHash('sha256').update(name);
    for (const reference of node.references) hash.update('\0').update(paths[reference]!);
    paths.push(`/nix/store/${nixBase32(hash.digest())}-${name}`);
  });
  return paths;
}

/** 32 characters of Nix's base-32 alphabet from the first 20 bytes of a digest. */
function nixBase32(bytes: Buffer): string {
  let out = '';
  for (let i = 0; i < 32; i++) {
    const bit = i * 5;
    const byte = bit >> 3;
    const value = ((bytes[byte]! | ((bytes[byte + 1] ?? 0) << 8)) >> (bit & 7)) & 31;
    out += NIX_BASE32[value];
  }
  return out;
}

/** Popularity in Nixery's popcount format over one epoch: name -> 1 + referrers, names counted once dropped. */
export function universePopularity(universe: Universe, epoch: Epoch): Map<string, number> {
  const counts = new Map<string, number>();
  const key = (node: number): string => epoch.paths[node]!.slice('/nix/store/'.length + 33);
  universe.nodes.forEach((node, i) => {
    counts.set(key(i), (counts.get(key(i)) ?? 0) + 1);
    for (const target of node.references) counts.set(key(target), (counts.get(key(target)) ?? 0) + 1);
  });
  for (const [name, count] of counts) if (count <= 1) counts.delete(name);
  return new Map([...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** `count` image specs: mostly 1..8 applications drawn Zipf-like, a quarter interpreter environments. */
export function generateImages(universe: Universe, count: number, seed: number): ImageSpec[] {
  const random = seeded(seed);
  const appTable = zipfTable(universe.byTier.app.length, 0.9);
  const sizeTable = zipfTable(8, 1);
  const runtimeTable = zipfTable(universe.byTier.runtime.length, 1.2);
  const always = universe.packages.filter((_, p) => [CACERT, IANA_ETC].includes(universe.nodes[universe.packages[p]!.out]!.base)).map((pkg) => pkg.out);
  const langByRuntime = new Map<number, number[]>();
  for (const p of universe.byTier.langpkg) {
    const runtime = universe.packages[p]!.runtime!;
    langByRuntime.set(runtime, [...(langByRuntime.get(runtime) ?? []), p]);
  }
  const images: ImageSpec[] = [];
  for (let i = 0; i < count; i++) {
    const k = 1 + drawZipf(random, sizeTable);
    const roots = new Set(always);
    let kind: ImageSpec['kind'] = 'apps';
    if (random() < 0.25) {
      kind = 'interpreter';
      const runtime = universe.byTier.runtime[drawZipf(random, runtimeTable)]!;
      roots.add(universe.packages[runtime]!.out);
      const pkgs = langByRuntime.get(runtime) ?? [];
      for (let j = 0; j < k && pkgs.length > 0; j++) roots.add(universe.packages[pkgs[drawZipf(random, appTable, pkgs.length)]!]!.out);
    } else {
      for (let j = 0; j < k; j++) {
        const pkg = universe.packages[universe.byTier.app[drawZipf(random, appTable)]!]!;
        roots.add(pkg.bin ?? pkg.out);
      }
    }
    images.push({ name: `image-${String(i).padStart(3, '0')}`, kind, roots: [...roots].sort((a, b) => a - b) });
  }
  return images;
}

/** Images whose closures reach at least `minPaths` paths, for timing the layering at that scale. */
export function largeImages(universe: Universe, count: number, minPaths: number, seed: number): ImageSpec[] {
  const random = seeded(seed);
  const images: ImageSpec[] = [];
  for (let i = 0; i < count; i++) {
    const roots = new Set<number>();
    while (closureNodes(universe, [...roots]).length < minPaths) {
      const pool = random() < 0.7 ? universe.byTier.app : universe.byTier.langpkg;
      roots.add(universe.packages[pool[Math.floor(random() * pool.length)]!]!.out);
    }
    images.push({ name: `large-${i}`, kind: 'apps', roots: [...roots].sort((a, b) => a - b) });
  }
  return images;
}

/** Node indices reachable from the roots (roots included), ascending. */
export function closureNodes(universe: Universe, roots: readonly number[]): number[] {
  const seen = new Uint8Array(universe.nodes.length);
  const stack = [...roots];
  for (const root of roots) seen[root] = 1;
  while (stack.length > 0) {
    for (const target of universe.nodes[stack.pop()!]!.references) {
      if (seen[target] === 0) {
        seen[target] = 1;
        stack.push(target);
      }
    }
  }
  const out: number[] = [];
  for (let node = 0; node < seen.length; node++) if (seen[node] === 1) out.push(node);
  return out;
}

/** An image's runtime closure at an epoch, as `nix path-info` reports it (self-references included). */
export function imageClosure(universe: Universe, epoch: Epoch, image: ImageSpec): ClosureGraph {
  const paths: StorePathInfo[] = closureNodes(universe, image.roots).map((node) => ({
    path: epoch.paths[node]!,
    narSize: epoch.narSize[node]!,
    references: [epoch.paths[node]!, ...universe.nodes[node]!.references.map((target) => epoch.paths[target]!)],
  }));
  return { roots: image.roots.map((node) => epoch.paths[node]!), paths };
}

/** A pronounceable, deterministic name for index i. */
function word(i: number): string {
  const consonants = 'bcdfghjklmnprstvz';
  const vowels = 'aeiou';
  let n = i + 1;
  let out = '';
  while (n > 0) {
    out += consonants[n % consonants.length]! + vowels[Math.floor(n / consonants.length) % vowels.length]!;
    n = Math.floor(n / (consonants.length * vowels.length));
  }
  return out;
}

/** Distinct values in ascending order. */
function unique(values: readonly number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

export type { Random };
