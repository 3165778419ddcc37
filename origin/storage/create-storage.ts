/**
 * Creates the configured storage backend, behind `withStorageErrors`. Cloud SDKs are loaded only for the backend in use:
 * each costs tens of MB of memory the origin would otherwise carry for nothing.
 */

import { mkdir } from 'node:fs/promises';
import type { StorageConfig } from '../config.ts';
import type { Storage } from './storage.ts';
import { withStorageErrors, type StorageBackend } from './storage-error.ts';
import { FilesystemStorage } from './filesystem.ts';

/** The storage backend the configuration names, ready to use; its failures are StorageErrors with a kind. */
export async function createStorage(config: StorageConfig): Promise<Storage> {
  return withStorageErrors(await createBackend(config));
}

/** The backend itself. */
async function createBackend(config: StorageConfig): Promise<StorageBackend> {
  switch (config.backend) {
    case 'filesystem': {
      await mkdir(config.path, { recursive: true });
      const storage = new FilesystemStorage(config.path);
      await storage.sweepStaleTemp(); // temp files a crash left behind
      return storage;
    }
    case 's3': {
      const { S3Storage } = await import('./s3.ts');
      return new S3Storage({
        ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
        bucket: config.bucket,
        region: config.region,
        accessKeyId: config.accessKeyId,
        secretAccessKey: config.secretAccessKey,
        forcePathStyle: config.forcePathStyle,
        idleTimeoutMs: config.idleTimeoutMs,
      });
    }
    case 'gcs': {
      const { GcsStorage } = await import('./gcs.ts');
      return new GcsStorage({
        bucket: config.bucket,
        ...(config.projectId === undefined ? {} : { projectId: config.projectId }),
        ...(config.keyFilename === undefined ? {} : { keyFilename: config.keyFilename }),
        ...(config.endpoint === undefined ? {} : { apiEndpoint: config.endpoint }),
        idleTimeoutMs: config.idleTimeoutMs,
      });
    }
  }
}
