/** Creates the configured storage backend. */

import { mkdir } from 'node:fs/promises';
import type { StorageConfig } from '../config.ts';
import type { Storage } from './storage.ts';
import { FilesystemStorage } from './filesystem.ts';
import { GcsStorage } from './gcs.ts';
import { S3Storage } from './s3.ts';

/** The storage backend the configuration names, ready to use. */
export async function createStorage(config: StorageConfig): Promise<Storage> {
  switch (config.backend) {
    case 'filesystem':
      await mkdir(config.path, { recursive: true });
      const storage = new FilesystemStorage(config.path);
      await storage.sweepStaleTemp(); // temp files a crash left behind
      return storage;
    case 's3':
      return new S3Storage({
        ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
        bucket: config.bucket,
        region: config.region,
        accessKeyId: config.accessKeyId,
        secretAccessKey: config.secretAccessKey,
        forcePathStyle: config.forcePathStyle,
      });
    case 'gcs':
      return new GcsStorage({
        bucket: config.bucket,
        ...(config.projectId === undefined ? {} : { projectId: config.projectId }),
        ...(config.keyFilename === undefined ? {} : { keyFilename: config.keyFilename }),
        ...(config.endpoint === undefined ? {} : { apiEndpoint: config.endpoint }),
      });
  }
}
