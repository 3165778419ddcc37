/**
 * The origin service: `npm run origin`. Reads the configuration, wires storage, the image builder
 * and the registry app, and serves until SIGINT/SIGTERM.
 */

import { serve } from '@hono/node-server';
import { loadConfig, ConfigError } from './config.ts';
import { checkNix, NixSetupError } from './nix/preflight.ts';
import { GitFetcher } from './nix/git-fetch.ts';
import { createLogger, type Logger } from './log.ts';
import { createStorage } from './storage/create-storage.ts';
import { StorageError } from './storage/storage-error.ts';
import type { Storage } from './storage/storage.ts';
import { BuildQueue } from './builder/build-queue.ts';
import { ImageBuilder } from './builder/image-builder.ts';
import { defaultLayering, DEFAULT_LAYERING_NAME } from './layers/index.ts';
import { loadPopularity } from './layers/popularity-source.ts';
import { createRegistryApp } from './server/app.ts';
import { ReasonPhraseResponse } from './server/reason-phrase.ts';
import { EdgeWriteBack } from './edge-client/write-back.ts';
import { ImageUse } from './cache/image-use.ts';
import { StoreGc } from './nix/store-gc.ts';
import { BuildStatus } from './status/build-status.ts';
import { allOf } from './builder/build-observer.ts';
import { createMetrics } from './metrics/metrics.ts';
import { buildMetrics } from './metrics/build-metrics.ts';
import { observeStorage } from './metrics/observed-storage.ts';
import { startMetricsServer } from './metrics/metrics-endpoint.ts';

/** Longest wait on shutdown for write-backs still in flight. */
const WRITE_BACK_DRAIN_MS = 10_000;

/** Starts the origin; resolves once it is listening. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const nix = await checkNix();
  const builds = new BuildQueue({ concurrency: config.maxConcurrentBuilds, maxQueued: config.maxQueuedBuilds, retryAfterSeconds: 10 });
  const evaluations = new BuildQueue({
    concurrency: config.maxConcurrentEvaluations,
    maxQueued: config.maxQueuedBuilds,
    retryAfterSeconds: 5,
    busyWith: 'evaluating too many package sets',
  });
  const queues = () => ({ builds: slots(builds), evaluations: slots(evaluations) });
  const metrics = createMetrics(queues);
  const storage = observeStorage(await createStorage(config.storage), metrics);
  await checkStorage(storage, logger);
  const popularity = await loadPopularity(config.popularityUrl);
  const buildStatus = new BuildStatus();
  const builder = new ImageBuilder({
    source: config.source,
    gitFetcher: new GitFetcher({ cacheDir: config.cacheDir }),
    storage,
    evaluations,
    builds,
    logger,
    layering: { name: DEFAULT_LAYERING_NAME, algorithm: defaultLayering, budget: config.layerBudget, popularity },
    compression: { default: config.layerCompression, levels: { gzip: config.gzipLevel, zstd: config.zstdLevel } },
    layerConcurrency: config.layerConcurrency,
    nixTimeoutSeconds: config.nixTimeoutSeconds,
    maxImageBytes: config.maxImageBytes,
    platforms: config.platforms,
    observer: allOf(buildStatus, buildMetrics(metrics)),
  });
  const { sharedSecret, url: edgeUrl, writeBackAttempts } = config.edge;
  const writeBack =
    sharedSecret !== undefined && edgeUrl !== undefined
      ? new EdgeWriteBack({ edgeUrl, secret: sharedSecret, logger, attempts: writeBackAttempts, onOutcome: (outcome) => metrics.writeBacks.inc({ outcome }) })
      : undefined;
  if (edgeUrl !== undefined && sharedSecret === undefined) {
    logger.warn('EDGE_URL is set without NIXEDGE_SHARED_SECRET: write-backs to the edge are disabled');
  }
  const imageUse = new ImageUse(storage, logger);
  const app = createRegistryApp({
    images: builder,
    storage,
    logger,
    sharedSecret,
    onTagResolved: writeBack ? (name, tag, image) => writeBack.enqueue(name, tag, image) : undefined,
    onManifestServed: (digest) => imageUse.touch([digest]),
    status: { builds: buildStatus, queues },
    metrics: { metrics, token: config.metrics.token },
  });
  const storeGc =
    config.nixGc.minFreeBytes > 0
      ? new StoreGc({ ...config.nixGc, checkIntervalMs: config.nixGc.checkIntervalSeconds * 1000, logger })
      : undefined;
  storeGc?.start();
  const metricsServer = config.metrics.port === undefined ? undefined : await startMetricsServer(metrics, config.metrics.host, config.metrics.port);
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host, serverOptions: { ServerResponse: ReasonPhraseResponse } }, (info) => {
    logger.info(
      { port: info.port, metrics: metricsWhere(config.metrics, metricsServer?.port), nix: nix.version, platforms: config.platforms.map((platform) => platform.name), popularityEntries: popularity.size, source: config.source, storage: config.storage.backend, signedRequests: sharedSecret !== undefined, writeBack: writeBack ? edgeUrl : false, nixGc: storeGc ? { minFreeBytes: config.nixGc.minFreeBytes, maxFreeBytes: config.nixGc.maxFreeBytes } : false },
      `nixedge origin listening on port ${info.port}`,
    );
  });
  const stop = (signal: string): void => {
    logger.info({ signal }, 'shutting down');
    storeGc?.stop();
    server.close();
    metricsServer?.server.close();
    // Write-backs in flight get a bounded wait; one that does not finish only costs the edge a miss.
    const pending = writeBack?.pending ?? 0;
    setTimeout(() => {
      if (writeBack && writeBack.pending > 0) logger.warn({ pending: writeBack.pending }, 'write-backs to the edge abandoned at shutdown');
      process.exit(0);
    }, pending > 0 ? WRITE_BACK_DRAIN_MS : 2000).unref();
    if (writeBack && pending > 0) {
      logger.info({ pending }, 'waiting for write-backs to the edge');
      writeBack.drain().then(
        () => logger.info('write-backs to the edge finished'),
        (error: unknown) => logger.warn({ err: error }, 'write-backs to the edge failed at shutdown'),
      );
    }
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Where the metrics are served, for the start-up log line. */
function metricsWhere(metrics: { token: string | undefined; host: string }, port: number | undefined): string {
  const where = [...(metrics.token === undefined ? [] : ['/metrics with METRICS_TOKEN']), ...(port === undefined ? [] : [`http://${metrics.host}:${port}/metrics`])];
  return where.length === 0 ? 'off (set METRICS_TOKEN or METRICS_PORT)' : where.join(' and ');
}

/** A queue's slots as the status shows them: running and waiting. */
function slots(queue: BuildQueue): { running: number; queued: number } {
  const { running, queued } = queue.stats;
  return { running, queued };
}

/**
 * Reads one (missing) key: a bucket that does not exist, refused credentials or a wrong endpoint
 * stop the origin at once with what is wrong; a store that is merely unavailable is only logged.
 */
async function checkStorage(storage: Storage, logger: Logger): Promise<void> {
  try {
    await storage.readBytes('cache/nixedge-start-check');
  } catch (error) {
    if (!(error instanceof StorageError)) throw error;
    if (error.kind === 'unavailable') {
      logger.warn({ storage: error.backend, err: error.cause }, 'storage is unavailable at start-up; serving anyway, pulls answer 503 until it is back');
      return;
    }
    let cause: unknown = error;
    while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
    throw new ConfigError(`Storage (${error.backend}) cannot be used: ${error.kind} (${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}). Check its bucket, endpoint and credentials`);
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof NixSetupError) {
    process.stderr.write(`nixedge origin: ${error.message}\n`);
  } else {
    process.stderr.write(`nixedge origin failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exit(1);
});
