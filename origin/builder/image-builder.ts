/**
 * From an image name and tag to published manifests: resolve the revision, evaluate, realise,
 * group the closure into layers, upload the layers that are not cached, then publish the config,
 * the manifests and finally the image cache entry (so nothing half-written is ever referenced).
 */

import { access } from 'node:fs/promises';
import { join } from 'node:path';
import pMap from 'p-map';
import { RegistryError } from '../../shared/errors.ts';
import { revisionSelector, type ImageName } from '../../shared/reference.ts';
import type { Storage } from '../storage/storage.ts';
import { StorageError } from '../storage/storage-error.ts';
import type { Logger } from '../log.ts';
import { timed } from '../log.ts';
import { resolveRevision, type NixSourceArgument, type PackageSource, type ResolvedRevision } from '../nix/source.ts';
import type { GitFetcher } from '../nix/git-fetch.ts';
import { evaluatePackages, describeUnresolved, type Evaluation } from '../nix/evaluate.ts';
import { realise, buildFailureReason } from '../nix/realise.ts';
import { closureGraph } from '../nix/graph.ts';
import { NixError } from '../nix/run.ts';
import type { LayerGroup, LayeringAlgorithm, Popularity } from '../layers/types.ts';
import { storePathEntries } from '../tarball/store-paths.ts';
import { customisationEntries } from '../image/customisation.ts';
import { buildImage, type LayerDescriptor } from '../image/manifest.ts';
import { LayerCache } from '../cache/layer-cache.ts';
import { ImageCache, imageKey, imageRecord, type ImageRecord } from '../cache/image-cache.ts';
import { sha256Hex } from '../../shared/digest.ts';
import { uploadLayer, storeBlob } from './upload-layer.ts';
import type { BuildQueue } from './build-queue.ts';
import { SingleFlight } from './single-flight.ts';
import type { ImageResolver, ResolvedImage } from './resolved-image.ts';

/** Packages Nixery adds to every image: CA certificates and /etc/services & co. */
export const IMPLICIT_PACKAGES = ['cacert', 'iana-etc'] as const;

/** Where nixpkgs' cacert puts the CA bundle (SSL_CERT_FILE points here when it exists). */
const CA_BUNDLE = 'etc/ssl/certs/ca-bundle.crt';

export interface ImageBuilderOptions {
  source: PackageSource;
  /** Brings git commits into the Nix store (NIXERY_PKGS_REPO). */
  gitFetcher: GitFetcher;
  storage: Storage;
  /** Slots for evaluations (bounded; never held by builds). */
  evaluations: BuildQueue;
  /** Slots for builds: realising, layering, uploading (past its bound: 429). */
  builds: BuildQueue;
  logger: Logger;
  layering: { name: string; algorithm: LayeringAlgorithm; budget: number; popularity: Popularity };
  gzipLevel: number;
  layerConcurrency: number;
  nixTimeoutSeconds: number;
}

export class ImageBuilder implements ImageResolver {
  readonly #options: ImageBuilderOptions;
  readonly #layerCache: LayerCache;
  readonly #imageCache: ImageCache;
  readonly #recipe: string;
  readonly #resolutions = new SingleFlight<ResolvedImage>();

  constructor(options: ImageBuilderOptions) {
    this.#options = options;
    this.#layerCache = new LayerCache(options.storage, `gzip-${options.gzipLevel}`);
    this.#imageCache = new ImageCache(options.storage);
    this.#recipe = `layering=${options.layering.name};budget=${options.layering.budget};gzip=${options.gzipLevel}`;
  }

  /**
   * The image for a name and tag: from the image cache, or built now. Concurrent pulls of one image
   * share one resolution. Only nix and layer work waits for a slot: an image already built is
   * answered from the cache while every build slot is busy (429 is for builds only).
   */
  async image(name: ImageName, tag: string): Promise<ResolvedImage> {
    return this.#resolutions.run(`${name.canonical}\0${tag}`, () => this.#resolveOrBuild(name, tag));
  }

  async #resolveOrBuild(name: ImageName, tag: string): Promise<ResolvedImage> {
    const logger = this.#options.logger.child({ image: name.canonical.replaceAll('\n', ' '), tag });
    const flight = `${name.canonical}\0${tag}`;
    try {
      const revision = await timed(logger, 'resolve-revision', () =>
        resolveRevision(this.#options.source, revisionSelector(tag), AbortSignal.timeout(this.#options.nixTimeoutSeconds * 1000)),
      );
      // A revision known before evaluation (a git commit) keys the cache at once: one read.
      const knownKey = revision.revision === undefined ? undefined : await this.#key(name, `git:${revision.revision}`);
      if (knownKey !== undefined) {
        const cached = await this.#imageCache.get(knownKey);
        if (cached) return { record: cached, pinned: revision.pinned };
      }
      // Evaluation has slots of its own: an image built already (keyed by its out paths) is not
      // kept waiting behind builds. NIX_TIMEOUT runs from when the work starts, not while it waits.
      const evaluation = await this.#options.evaluations.run(flight, async () => {
        const signal = AbortSignal.timeout(this.#options.nixTimeoutSeconds * 1000);
        const source = await this.#nixSource(revision, signal, logger);
        return timed(logger, 'evaluate', () => this.#evaluate(name, source, signal));
      });
      let key = knownKey;
      if (key === undefined) {
        // Otherwise the evaluated out paths identify the package set.
        const outPaths = evaluation.packages.flatMap((p) => p.outputs.map((o) => o.path));
        key = await this.#key(name, `out:${await hashLines(outPaths)}`);
        const cached = await this.#imageCache.get(key);
        if (cached) return { record: cached, pinned: revision.pinned };
      }
      const imageKey = key;
      const record = await this.#options.builds.run(imageKey, () =>
        timed(logger, 'build', async () => {
          const built = await this.#build(name, evaluation, AbortSignal.timeout(this.#options.nixTimeoutSeconds * 1000), logger);
          await this.#imageCache.put(imageKey, built);
          return built;
        }),
      );
      return { record, pinned: revision.pinned };
    } catch (error) {
      throw toRegistryError(error, this.#options.nixTimeoutSeconds, logger);
    }
  }

  #key(name: ImageName, revision: string): Promise<string> {
    return imageKey({ system: name.system, revision, canonical: name.canonical, recipe: this.#recipe });
  }

  /** The revision as nix takes it: a git commit is fetched into the store first. */
  async #nixSource(revision: ResolvedRevision, signal: AbortSignal, logger: Logger): Promise<NixSourceArgument> {
    const { argument } = revision;
    if (argument.kind !== 'git') return argument;
    const path = await timed(logger, 'fetch-source', () => this.#options.gitFetcher.storePath(argument.url, argument.rev, signal), {
      commit: argument.rev,
    });
    return { kind: 'path', path };
  }

  /** Evaluates the requested and implicit packages; unknown requested ones are a 404. */
  async #evaluate(name: ImageName, source: NixSourceArgument, signal: AbortSignal): Promise<Evaluation> {
    const implicit = IMPLICIT_PACKAGES.filter((p) => !name.packages.includes(p));
    const evaluation = await evaluatePackages({
      source,
      system: name.system,
      packages: [...name.packages, ...implicit],
      signal,
    });
    const unknown = evaluation.unresolved.filter((u) => !(IMPLICIT_PACKAGES as readonly string[]).includes(u.requested));
    if (unknown.length > 0) {
      const lines = unknown.map(describeUnresolved);
      throw new RegistryError('MANIFEST_UNKNOWN', `Unknown packages: ${lines.join('; ')}`, {
        detail: { unknown: unknown.map((u) => ({ package: u.requested, reason: u.reason, suggestions: u.suggestions })) },
      });
    }
    return evaluation;
  }

  /** Realises the closure, uploads its layers and publishes config and manifests. */
  async #build(name: ImageName, evaluation: Evaluation, signal: AbortSignal, logger: Logger): Promise<ImageRecord> {
    const drvPaths = [...new Set(evaluation.packages.map((p) => p.drvPath))].sort();
    const roots = await timed(logger, 'realise', () => realise(drvPaths, signal), { derivations: drvPaths.length });
    try {
      return await this.#storeImage(name, evaluation, signal, logger);
    } finally {
      await roots.release();
    }
  }

  /** Groups the realised closure into layers, uploads them and publishes config and manifests. */
  async #storeImage(name: ImageName, evaluation: Evaluation, signal: AbortSignal, logger: Logger): Promise<ImageRecord> {
    const { storage, layering, gzipLevel, layerConcurrency } = this.#options;
    const roots = [...new Set(evaluation.packages.flatMap((p) => p.outputs.map((o) => o.path)))].sort();
    const graph = await timed(logger, 'closure-graph', () => closureGraph(roots, signal));
    const groups = layering.algorithm(graph, { budget: layering.budget, popularity: layering.popularity });
    logger.info({ step: 'layering', layers: groups.length, storePaths: graph.paths.length }, 'layering done');

    let uploaded = 0;
    const layerFor = async (group: LayerGroup): Promise<LayerDescriptor> => {
      const cached = await this.#layerCache.get(group.storePaths);
      if (cached) return cached;
      const layer = await timed(logger, 'layer', () => uploadLayer(storage, storePathEntries(group.storePaths), gzipLevel), {
        storePaths: group.storePaths.length,
        narSize: group.narSize,
      });
      await this.#layerCache.put(group.storePaths, layer);
      uploaded += 1;
      return layer;
    };
    // Largest layers start first, so the build does not end with one slot busy and the others
    // idle; the manifest keeps the layering's order.
    const largestFirst = groups.map((group, index) => ({ group, index })).sort((a, b) => b.group.narSize - a.group.narSize);
    const layers: LayerDescriptor[] = new Array<LayerDescriptor>(groups.length);
    await pMap(
      largestFirst,
      async ({ group, index }) => {
        layers[index] = await layerFor(group);
      },
      { concurrency: layerConcurrency },
    );

    // The requested packages' outputs, in the image name's order, are joined at / on top.
    const requestedRoots = evaluation.packages.flatMap((p) => p.outputs.map((o) => o.path));
    const customisation = await timed(logger, 'customisation-layer', async () =>
      uploadLayer(storage, arrayToAsync(await customisationEntries({ packages: requestedRoots })), gzipLevel),
    );
    const env = ['PATH=/bin:/usr/bin'];
    if (await anyHas(requestedRoots, CA_BUNDLE)) env.push(`SSL_CERT_FILE=/${CA_BUNDLE}`);
    const allLayers = [...layers, customisation];
    const image = await buildImage({ system: name.system, layers: allLayers, env, cmd: name.shell ? ['/bin/bash'] : undefined });
    await storeBlob(storage, image.config.digest, image.config.bytes);
    await storeBlob(storage, image.manifests.oci.digest, image.manifests.oci.bytes);
    await storeBlob(storage, image.manifests.docker.digest, image.manifests.docker.bytes);
    logger.info({ step: 'publish', layers: layers.length + 1, uploaded, cached: layers.length - uploaded }, 'image published');
    return imageRecord(image, allLayers);
  }
}

/** A hash over lines, order-independent. */
function hashLines(lines: readonly string[]): Promise<string> {
  return sha256Hex([...lines].sort().map((line) => `${line}\n`).join(''));
}

async function* arrayToAsync<T>(items: readonly T[]): AsyncIterable<T> {
  yield* items;
}

/** Whether any of these store paths contains `relative`. */
async function anyHas(storePaths: readonly string[], relative: string): Promise<boolean> {
  for (const path of storePaths) {
    try {
      await access(join(path, relative));
      return true;
    } catch {
      // not in this one
    }
  }
  return false;
}

/** Turns a build failure into the error the client sees; the details go to the log only. */
function toRegistryError(error: unknown, timeoutSeconds: number, logger: Logger): RegistryError | StorageError {
  // Registry errors are the client's answer already; storage failures are answered by kind in one place.
  if (error instanceof RegistryError || error instanceof StorageError) return error;
  if (error instanceof NixError) {
    logger.error({ command: error.command, exitCode: error.exitCode, stderr: error.stderr.slice(-8000) }, 'nix failed');
    if (error.timedOut) return new RegistryError('UNKNOWN', `The build took longer than NIX_TIMEOUT (${timeoutSeconds} s)`, { cause: error });
    if (error.command.startsWith('nix-instantiate')) {
      return new RegistryError('UNKNOWN', 'The package set failed to evaluate', { cause: error });
    }
    return new RegistryError('UNKNOWN', buildFailureReason(error.stderr), { cause: error });
  }
  logger.error({ err: error }, 'build failed');
  return new RegistryError('UNKNOWN', 'The image could not be built', { cause: error });
}
