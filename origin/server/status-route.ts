/**
 * GET|HEAD STATUS_PATH: the builds in flight and the last ones as JSON (shared/build-status.ts),
 * optionally only one image's (`?image=<name>&tag=<tag>`, the name in any order of components).
 * Read-only and open like /v2/: it starts nothing. The edge passes it through, cached briefly.
 */

import type { Handler } from 'hono';
import { statusImageName, statusPlatform, type QueueStatus } from '../../shared/build-status.ts';
import { parseImageName } from '../../shared/reference.ts';
import type { BuildStatus, StatusFilter } from '../status/build-status.ts';

/** The origin's slots as the status shows them. */
export type QueueStats = () => { builds: QueueStatus; evaluations: QueueStatus };

/** The status handler over the builder's status and its queues. */
export function serveStatus(status: BuildStatus, queues: QueueStats): Handler {
  return (c) => {
    const filter: StatusFilter = {};
    const image = c.req.query('image');
    if (image !== undefined && image !== '') {
      const name = parseImageName(image);
      filter.image = statusImageName(name);
      if (name.systemChosen) filter.platform = statusPlatform(name);
    }
    const tag = c.req.query('tag');
    if (tag !== undefined && tag !== '') filter.tag = tag;
    return c.json(status.snapshot(queues(), filter), 200, { 'Cache-Control': 'no-cache' });
  };
}
