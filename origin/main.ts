/**
 * The origin service: `npm run origin`. Reads the configuration, wires storage, the image builder
 * and the registry app, and serves until SIGINT/SIGTERM.
 */

import { serve } from '@hono/node-server';
import { loadConfig, ConfigError } from './config.ts';
import { createLogger } from './log.ts';
import { createStorage } from './storage/create-storage.ts';
import { BuildQueue } from './build/build-queue.ts';
import { ImageBuilder } from './build/image-builder.ts';
import { defaultLayering } from './layers/index.ts';
import { loadPopularity } from './startup/popularity-source.ts';
import { createRegistryApp } from './server/app.ts';

/** Starts the origin; resolves once it is listening. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const storage = await createStorage(config.storage);
  const popularity = await loadPopularity(config.popularityUrl);
  const queue = new BuildQueue({ concurrency: config.maxConcurrentBuilds, maxQueued: config.maxQueuedBuilds, retryAfterSeconds: 10 });
  const builder = new ImageBuilder({
    source: config.source,
    storage,
    queue,
    logger,
    layering: { name: 'nixery', algorithm: defaultLayering, budget: config.layerBudget, popularity },
    gzipLevel: config.gzipLevel,
    layerConcurrency: config.layerConcurrency,
    nixTimeoutSeconds: config.nixTimeoutSeconds,
  });
  const app = createRegistryApp({ builder, storage, logger });
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
    logger.info({ port: info.port, source: config.source, storage: config.storage.backend }, `nixedge origin listening on port ${info.port}`);
  });
  const stop = (signal: string): void => {
    logger.info({ signal }, 'shutting down');
    server.close();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`nixedge origin: ${error.message}\n`);
  } else {
    process.stderr.write(`nixedge origin failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exit(1);
});
