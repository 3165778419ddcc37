/**
 * The edge Worker: the shared registry surface (shared/registry-surface.ts) with the edge's
 * handlers: cached pulls answered from Workers KV, blobs redirected to object storage, misses
 * forwarded to the origin, and the origin's signed write-back (the one POST).
 */

import { registrySurface } from '../shared/registry-surface.ts';
import { WRITE_BACK_PATH } from '../shared/protocol.ts';
import { frontPage } from '../shared/front-page.ts';
import type { EdgeEnv } from './env.ts';
import { serveManifest } from './routes/manifests.ts';
import { serveBlob } from './routes/blobs.ts';
import { receiveWriteBack, writeBackBodyLimit } from './routes/write-back.ts';
import { serveStatus } from './routes/status.ts';
import { STATUS_PATH } from '../shared/build-status.ts';
import { requestLog } from './request-log.ts';

export const app = registrySurface<EdgeEnv>({
  middleware: [requestLog],
  manifests: serveManifest,
  blobs: serveBlob,
  frontPage,
  gets: { [STATUS_PATH]: serveStatus },
  posts: { [WRITE_BACK_PATH]: { guard: writeBackBodyLimit, handler: receiveWriteBack } },
  onUnexpectedError: (error) =>
    console.error(JSON.stringify({ msg: 'unexpected error', error: String(error), stack: error instanceof Error ? error.stack : undefined })),
});

export default app;
