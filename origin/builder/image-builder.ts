/**
 * From an image name and tag to published manifests: resolve the revision, evaluate, realise,
 * group the closure into layers, upload the layers that are not cached, then publish the config,
 * the manifests and finally the image cache entry (so nothing half-written is ever referenced).
 */

import { access } from 'node:fs/promises';
import { join } from 'node:path';
import pMap from 'p-map';
import { RegistryError, requestRefused } from '../../shared/errors.ts';
import { revisionSelector, withSystem, type ImageName } from '../../shared/reference.ts';
import type { Platform } from '../../shared/platforms.ts';
import { buildIndex } from '../image/index.ts';
import type { Storage } from '../storage/storage.ts';
import type { Logger } from '../log.ts';
import { timed } from '../log.ts';
import { resolveRevision, type NixSourceArgument, type PackageSource, type ResolvedRevision } from '../nix/source.ts';
import type { GitFetcher } from '../nix/git-fetch.ts';
import { evaluatePackages, describeUnresolved, type Evaluation } from '../nix/evaluate.ts';
import { classifyBuildFailure, packagesNeeding, realise } from '../nix/realise.ts';
import { NixError } from '../nix/run.ts';
import { closureGraph } from '../nix/graph.ts';
import type { LayerGroup, LayeringAlgorithm, Popularity } from '../layers/types.ts';
import { storePathEntries } from '../tarball/store-paths.ts';
import { codecId, type LayerCodec } from '../tarball/codec.ts';
import type { LayerCompression } from '../../shared/media-types.ts';
import { customisationEntries } from '../image/customisation.ts';
import { buildImage, type LayerDescriptor } from '../image/manifest.ts';
import { LayerCache } from '../cache/layer-cache.ts';
import { ImageCache, imageKey, imageRecord, indexRecord, type ImageRecord } from '../cache/image-cache.ts';
import { sha256Hex } from '../../shared/digest.ts';
import { uploadLayer, storeBlob } from './upload-layer.ts';
import type { BuildQueue } from './build-queue.ts';
import { SingleFlight } from './single-flight.ts';
import { buildFailedRefusal, failureAnswer, isRequestRefusal, newBuildId, onPlatform } from './failures.ts';
import { LRUCache } from 'lru-cache';
import type { ImageResolver, ResolvedImage } from './resolved-image.ts';
import type { BuildObserver } from './build-observer.ts';
import { BuildWatch } from './build-watch.ts';
import { statusImageName, statusPlatform } from '../../shared/build-status.ts';

/** How long a request's refusal is remembered (a fix to the package set may come with the next revision). */
const REFUSAL_MEMORY_MS = 60_000;

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
  /** Layer compression: the deployment's default (an image name's `zstd` overrides it) and each one's level. */
  compression: { default: LayerCompression; levels: Record<LayerCompression, number> };
  layerConcurrency: number;
  nixTimeoutSeconds: number;
  /** Largest closure an image may hold, in bytes (0 = no limit). */
  maxImageBytes: number;
  /** The platforms a name without one is built for (NIXEDGE_PLATFORMS): several give an index. */
  platforms: readonly Platform[];
  /** Told of every build's steps, layers and ending (the status page, metrics). */
  observer?: BuildObserver;
}

export class ImageBuilder implements ImageResolver {
  readonly #options: ImageBuilderOptions;
  /** One layer cache per codec: its entries are keyed by codec and level. */
  readonly #layerCaches = new Map<string, LayerCache>();
  readonly #imageCache: ImageCache;
  readonly #resolutions = new SingleFlight<ResolvedImage>();
  readonly #revisions = new SingleFlight<ResolvedRevision>();
  /** Requests refused lately (unknown or failing packages), by image, tag and revision: not rebuilt for every pull. */
  readonly #refusals = new LRUCache<string, RegistryError>({ max: 10_000, ttl: REFUSAL_MEMORY_MS });

  constructor(options: ImageBuilderOptions) {
    this.#options = options;
    this.#imageCache = new ImageCache(options.storage);
  }

  /** The codec of an image's layers: the one its name asks for, else the deployment's default. */
  #codec(name: ImageName): LayerCodec {
    const compression = name.compression ?? this.#options.compression.default;
    return { compression, level: this.#options.compression.levels[compression] };
  }

  /** The layer cache of a codec (a gzip layer is never taken for a zstd one, nor one level for another). */
  #layerCache(codec: LayerCodec): LayerCache {
    const id = codecId(codec);
    let cache = this.#layerCaches.get(id);
    if (!cache) this.#layerCaches.set(id, (cache = new LayerCache(this.#options.storage, id)));
    return cache;
  }

  /**
   * The image for a name and tag: from the image cache, or built now. With several platforms
   * configured (NIXEDGE_PLATFORMS) and no platform in the name, an index of one image per platform,
   * all built from one revision of the package set. Concurrent pulls of one image share one
   * resolution, and a multi-platform pull shares each platform's with pulls of that platform alone.
   * Only nix and layer work waits for a slot: an image already built is answered from the cache
   * while every build slot is busy (429 is for builds only).
   */
  async image(name: ImageName, tag: string): Promise<ResolvedImage> {
    const { platforms } = this.#options;
    const revision = await this.#revisions.run(tag, () =>
      timed(this.#options.logger.child({ tag }), 'resolve-revision', () =>
        resolveRevision(this.#options.source, revisionSelector(tag), AbortSignal.timeout(this.#options.nixTimeoutSeconds * 1000)),
      ),
    );
    if (name.systemChosen || platforms.length === 1) {
      return this.#platformImage(name.systemChosen ? name : withSystem(name, platforms[0]!.system), tag, revision);
    }
    return this.#resolutions.run(`index\0${name.canonical}\0${revision.revision ?? tag}`, () => this.#multiPlatform(name, tag, revision));
  }

  /** One platform's image at a resolved revision, shared with every pull of it in flight. */
  #platformImage(name: ImageName, tag: string, revision: ResolvedRevision): Promise<ResolvedImage> {
    return this.#resolutions.run(`${name.canonical}\0${revision.revision ?? tag}`, () => this.#resolveOrBuild(name, tag, revision));
  }

  /**
   * Every configured platform's image at one revision, then their OCI index and Docker manifest
   * list, stored last: a platform that fails fails the request (its error names the platform) and
   * no list naming it is ever stored.
   */
  async #multiPlatform(name: ImageName, tag: string, revision: ResolvedRevision): Promise<ResolvedImage> {
    const images = await Promise.all(
      this.#options.platforms.map(async (platform) => {
        try {
          return { platform, image: await this.#platformImage(withSystem(name, platform.system), tag, revision) };
        } catch (error) {
          throw onPlatform(error, platform.name);
        }
      }),
    );
    const built = await buildIndex(images.map(({ platform, image }) => ({ platform, oci: image.record.manifests.oci, docker: image.record.manifests.docker })));
    await storeBlob(this.#options.storage, built.ociIndex.digest, built.ociIndex.bytes);
    await storeBlob(this.#options.storage, built.dockerList.digest, built.dockerList.bytes);
    return { record: indexRecord(built, images.map(({ image }) => image.record)), pinned: revision.pinned };
  }

  async #resolveOrBuild(name: ImageName, tag: string, revision: ResolvedRevision): Promise<ResolvedImage> {
    const buildId = newBuildId();
    const logger = this.#options.logger.child({ image: name.canonical.replaceAll('\n', ' '), tag, build: buildId });
    const flight = `${name.canonical}\0${revision.revision ?? tag}`;
    // A request refused a moment ago at this revision is refused again without nix.
    const refusalKey = flight;
    const watch = new BuildWatch(this.#options.observer, logger, { id: buildId, image: statusImageName(name), tag, platform: statusPlatform(name) });
    try {
      const refused = this.#refusals.get(refusalKey);
      if (refused) {
        logger.info({ step: 'refusal-remembered', code: refused.code }, 'refused again without a build');
        throw refused;
      }
      watch.start();
      // A revision known before evaluation (a git commit) keys the cache at once: one read.
      const knownKey = revision.revision === undefined ? undefined : await this.#key(name, `git:${revision.revision}`);
      if (knownKey !== undefined) {
        const cached = await this.#imageCache.get(knownKey);
        if (cached) {
          watch.succeeded('cached');
          return { record: cached, pinned: revision.pinned };
        }
      }
      // Evaluation has slots of its own: an image built already (keyed by its out paths) is not
      // kept waiting behind builds. NIX_TIMEOUT runs from when the work starts, not while it waits.
      watch.waiting();
      const evaluation = await this.#options.evaluations.run(flight, async () => {
        const signal = AbortSignal.timeout(this.#options.nixTimeoutSeconds * 1000);
        const source = await this.#nixSource(revision, signal, watch);
        return watch.step('evaluate', () => this.#evaluate(name, source, signal));
      });
      // Roots on the evaluated .drv files until this resolution ends (the build has its own by then).
      await using _derivationRoots = evaluation.roots;
      let key = knownKey;
      if (key === undefined) {
        // Otherwise the evaluated out paths identify the package set.
        const outPaths = evaluation.packages.flatMap((p) => p.outputs.map((o) => o.path));
        key = await this.#key(name, `out:${await hashLines(outPaths)}`);
        const cached = await this.#imageCache.get(key);
        if (cached) {
          watch.succeeded('cached');
          return { record: cached, pinned: revision.pinned };
        }
      }
      const imageKey = key;
      watch.waiting();
      const record = await this.#options.builds.run(imageKey, () =>
        timed(logger, 'build', async () => {
          const built = await this.#build(name, evaluation, AbortSignal.timeout(this.#options.nixTimeoutSeconds * 1000), logger, buildId, watch);
          await this.#imageCache.put(imageKey, built);
          return built;
        }),
      );
      watch.succeeded('built');
      return { record, pinned: revision.pinned };
    } catch (error) {
      const answer = failureAnswer(error, { requested: name.packages, buildId, timeoutSeconds: this.#options.nixTimeoutSeconds, logger });
      if (isRequestRefusal(answer)) this.#refusals.set(refusalKey, answer);
      watch.failed(answer);
      throw answer;
    }
  }

  /** The image cache key; the recipe names the codec as `gzip=6` (as before zstd existed) or `zstd=3`. */
  #key(name: ImageName, revision: string): Promise<string> {
    const { layering } = this.#options;
    const codec = this.#codec(name);
    const recipe = `layering=${layering.name};budget=${layering.budget};${codec.compression}=${codec.level}`;
    return imageKey({ system: name.system, revision, canonical: name.canonical, recipe });
  }

  /** The revision as nix takes it: a git commit is fetched into the store first. */
  async #nixSource(revision: ResolvedRevision, signal: AbortSignal, watch: BuildWatch): Promise<NixSourceArgument> {
    const { argument } = revision;
    if (argument.kind !== 'git') return argument;
    const path = await watch.step('fetch-source', () => this.#options.gitFetcher.storePath(argument.url, argument.rev, signal), {
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
    const unresolved = evaluation.unresolved.filter((u) => !(IMPLICIT_PACKAGES as readonly string[]).includes(u.requested));
    if (unresolved.length > 0) {
      const lines = unresolved.map(describeUnresolved);
      const detail = { unknown: unresolved.map((u) => ({ package: u.requested, reason: u.reason, suggestions: u.suggestions, ...(u.message ? { message: u.message } : {}) })) };
      // A package its package set refuses (broken, unfree, removed) is a refusal; names that resolve to nothing are unknown.
      await evaluation.roots.release(); // nothing will be built
      if (unresolved.some((u) => u.reason === 'evaluation-error')) throw requestRefused(`Refused packages: ${lines.join('; ')}`, { detail });
      throw new RegistryError('MANIFEST_UNKNOWN', `Unknown packages: ${lines.join('; ')}`, { detail });
    }
    return evaluation;
  }

  /** Realises the closure, uploads its layers and publishes config and manifests. */
  async #build(name: ImageName, evaluation: Evaluation, signal: AbortSignal, logger: Logger, buildId: string, watch: BuildWatch): Promise<ImageRecord> {
    const drvPaths = [...new Set(evaluation.packages.map((p) => p.drvPath))].sort();
    const roots = await watch.step('realise', () => realise(drvPaths, signal), { derivations: drvPaths.length }).catch(async (error: unknown) => {
      throw await this.#explainFailedBuild(error, evaluation, signal, buildId);
    });
    try {
      return await this.#storeImage(name, evaluation, signal, logger, watch);
    } finally {
      await roots.release();
    }
  }

  /**
   * A derivation that failed to build is the request's failure: named, with the requested packages
   * that need it, its exit code and the build id (the log stays in the origin's log). Anything else
   * is left to failureAnswer.
   */
  async #explainFailedBuild(error: unknown, evaluation: Evaluation, signal: AbortSignal, buildId: string): Promise<unknown> {
    if (!(error instanceof NixError) || error.timedOut) return error;
    const failure = classifyBuildFailure(error.stderr);
    if (failure.kind !== 'build-failed') return error;
    this.#options.logger.error({ build: buildId, stderr: error.stderr.slice(-8000) }, 'nix failed to build');
    const requested = new Map(evaluation.packages.filter((p) => !(IMPLICIT_PACKAGES as readonly string[]).includes(p.requested)).map((p) => [p.requested, p.drvPath]));
    const needing = await packagesNeeding(requested, failure.drvPaths, signal).catch(() => [...requested.keys()]);
    const who = needing.length > 0 ? needing.join(', ') : [...requested.keys()].join(', ');
    return buildFailedRefusal(who, needing, failure, buildId, error);
  }

  /** Groups the realised closure into layers, uploads them and publishes config and manifests. */
  async #storeImage(name: ImageName, evaluation: Evaluation, signal: AbortSignal, logger: Logger, watch: BuildWatch): Promise<ImageRecord> {
    const { storage, layering, layerConcurrency } = this.#options;
    const codec = this.#codec(name);
    const layerCache = this.#layerCache(codec);
    const roots = [...new Set(evaluation.packages.flatMap((p) => p.outputs.map((o) => o.path)))].sort();
    const graph = await watch.step('closure-graph', () => closureGraph(roots, signal));
    const bytes = graph.paths.reduce((sum, path) => sum + path.narSize, 0);
    const limit = this.#options.maxImageBytes;
    if (limit > 0 && bytes > limit) {
      const mb = (n: number) => `${Math.round(n / 1e6)} MB`;
      throw requestRefused(`${name.packages.join(', ')}: the image would hold ${mb(bytes)} of store paths, over this registry's limit of ${mb(limit)} (MAX_IMAGE_SIZE_MB)`);
    }
    const groups = layering.algorithm(graph, { budget: layering.budget, popularity: layering.popularity });
    logger.info({ step: 'layering', layers: groups.length, storePaths: graph.paths.length }, 'layering done');
    watch.layers(groups.length + 1);

    let uploaded = 0;
    const layerFor = async (group: LayerGroup): Promise<LayerDescriptor> => {
      const cached = await layerCache.get(group.storePaths);
      if (cached) {
        watch.layer('cache', cached.size);
        return cached;
      }
      const layer = await watch.step('layer', () => uploadLayer(storage, storePathEntries(group.storePaths), codec), {
        storePaths: group.storePaths.length,
        narSize: group.narSize,
      });
      await layerCache.put(group.storePaths, layer);
      uploaded += 1;
      watch.layer('built', layer.size);
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
    const customisation = await watch.step('customisation-layer', async () =>
      uploadLayer(storage, arrayToAsync(await customisationEntries({ packages: requestedRoots })), codec),
    );
    watch.layer('customisation', customisation.size);
    const env = ['PATH=/bin:/usr/bin'];
    if (await anyHas(requestedRoots, CA_BUNDLE)) env.push(`SSL_CERT_FILE=/${CA_BUNDLE}`);
    const allLayers = [...layers, customisation];
    const image = await buildImage({ system: name.system, layers: allLayers, env, cmd: name.shell ? ['/bin/bash'] : undefined, compression: codec.compression });
    // Logged below with what was uploaded and reused.
    await watch.step('publish', async () => {
      await storeBlob(storage, image.config.digest, image.config.bytes);
      await storeBlob(storage, image.manifests.oci.digest, image.manifests.oci.bytes);
      await storeBlob(storage, image.manifests.docker.digest, image.manifests.docker.bytes);
    }, {}, { log: false });
    logger.info({ step: 'publish', layers: layers.length + 1, uploaded, cached: layers.length - uploaded, compression: codecId(codec) }, 'image published');
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
